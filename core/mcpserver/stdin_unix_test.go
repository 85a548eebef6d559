//go:build unix

package mcpserver

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestPollStdin: a pipe on stdin is read through the poller (a read
// deadline can be set, which only a pollable file allows) and left
// blocking again by restore; a regular file on stdin is left as it is.
// The checks run in a child whose stdin the test chooses.
func TestPollStdin(t *testing.T) {
	if os.Getenv("CARAPACE_TEST_POLLSTDIN") != "" {
		f, restore := PollStdin()
		deadline := f.SetReadDeadline(time.Now().Add(time.Hour)) == nil
		restore()
		st, _ := os.Stdin.Stat()
		pipe := st.Mode()&os.ModeNamedPipe != 0
		if deadline != pipe {
			os.Stdout.WriteString("pollable=" + map[bool]string{true: "yes", false: "no"}[deadline])
			os.Exit(1)
		}
		b := make([]byte, 5) // restored to blocking, stdin still reads
		if n, err := os.Stdin.Read(b); err != nil || string(b[:n]) != "hello" {
			os.Stdout.WriteString("read after restore: " + err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	file := t.TempDir() + "/in"
	os.WriteFile(file, []byte("hello"), 0o644)
	for _, pipe := range []bool{true, false} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPollStdin$")
		cmd.Env = append(os.Environ(), "CARAPACE_TEST_POLLSTDIN=1")
		if pipe {
			cmd.Stdin = strings.NewReader("hello") // exec gives the child a pipe
		} else {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("stdin a pipe=%v: %v %s", pipe, err, out)
		}
	}
}
