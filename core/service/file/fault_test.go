//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/service"
)

const (
	writerEnv  = "CARAPACE_FILE_TEST_WRITER"
	writerSize = 4 << 20
)

// TestKillMidWrite starts a writer process (this test binary again) that
// overwrites one file in a loop with 4 MiB of a single repeated letter,
// kills it with SIGKILL at a random moment, and checks the file is always
// one whole version: the old or a new one, never a mix or a short file.
func TestKillMidWrite(t *testing.T) {
	if dir := os.Getenv(writerEnv); dir != "" {
		runWriter(dir)
		return
	}
	dir := t.TempDir()
	target := dir + "/f.bin"
	must(t, os.WriteFile(target, bytes.Repeat([]byte{'@'}, writerSize), 0o644))
	kills := 12
	if testing.Short() {
		kills = 3
	}
	midWrite := 0
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillMidWrite$")
		cmd.Env = append(os.Environ(), writerEnv+"="+dir)
		if i%2 == 1 {
			cmd.Env = append(cmd.Env, writerEnv+"_HOLD=1")
		}
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		// Wait until the writer is inside its loop, then let it run a
		// random while: the kill lands at a different point each time.
		// Even kills land at a random moment; odd ones while the writer
		// holds a complete temporary file it has not renamed yet.
		r := bufio.NewReader(out)
		want := "wrote"
		if i%2 == 1 {
			want = "renaming"
		}
		n := 1 + rand.IntN(3)
		if i%2 == 1 {
			n = 1 // the writer holds at its first rename
		}
		for n > 0 {
			line, err := r.ReadString('\n')
			if err != nil {
				cmd.Process.Kill()
				t.Fatalf("writer failed: %q %v", line, err)
			}
			if strings.HasPrefix(line, want) {
				n--
			}
		}
		if i%2 == 0 {
			time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		}
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		cmd.Wait()
		b, err := os.ReadFile(target)
		must(t, err)
		if temps, _ := filepath.Glob(dir + "/" + tempPrefix + "*"); len(temps) > 0 {
			midWrite++
			for _, tmp := range temps {
				os.Remove(tmp)
			}
		}
		if len(b) != writerSize || bytes.Count(b, b[:1]) != len(b) {
			t.Fatalf("kill %d: torn file: %d bytes, first %q, %d of them", i, len(b), b[:1], bytes.Count(b, b[:1]))
		}
		t.Logf("kill %d: file is whole, all %q", i, b[:1])
	}
	t.Logf("%d of %d kills landed mid-write (left a temporary file)", midWrite, kills)
	if midWrite < kills/2 {
		t.Errorf("only %d kills left a temporary file; the ones at the hook must", midWrite)
	}
}

// runWriter overwrites f.bin in dir forever through the service.
func runWriter(dir string) {
	s, err := New(Config{Folders: []Folder{{Path: dir}}}, service.AllowAll)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	h := s.Methods()["file.write"]
	hold := os.Getenv(writerEnv+"_HOLD") != ""
	testHookBeforeRename = func() {
		fmt.Println("renaming")
		if !hold {
			return
		}
		time.Sleep(10 * time.Second) // the parent kills it here
	}
	for i := 0; ; i++ {
		content := strings.Repeat(string(rune('A'+i%26)), writerSize)
		params, _ := json.Marshal(map[string]any{"path": dir + "/f.bin", "content": content, "mode": "overwrite"})
		if _, err := h(context.Background(), &service.Call{Params: params}); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		fmt.Println("wrote", i)
	}
}
