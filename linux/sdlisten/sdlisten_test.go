package sdlisten

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary play a socket-activated service: with
// SDLISTEN_HELPER set it takes its socket and answers one connection.
func TestMain(m *testing.M) {
	if name := os.Getenv("SDLISTEN_HELPER"); name != "" {
		os.Exit(helper(name))
	}
	os.Exit(m.Run())
}

func helper(name string) int {
	l, err := Listen(name, "", 0, func(string, os.FileMode) (net.Listener, error) {
		return nil, errors.New("fallback used")
	})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	c, err := l.Accept()
	if err != nil {
		return 1
	}
	c.Write([]byte("served " + os.Getenv("LISTEN_FDS") + "\n"))
	c.Close()
	return 0
}

// activate starts the helper the way systemd would: the socket as fd 3,
// LISTEN_PID set to the helper's own pid (through a shell that execs it).
func activate(t *testing.T, fdName, want string) (*exec.Cmd, string) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), "SDLISTEN_HELPER="+want, "LISTEN_FDS=1", "LISTEN_FDNAMES="+fdName)
	cmd.ExtraFiles = []*os.File{f}
	return cmd, sock
}

func TestActivated(t *testing.T) {
	cmd, sock := activate(t, "code", "code")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v: %s", err, stderr.String())
	}
	// The environment is consumed so children do not inherit it.
	if line != "served \n" {
		t.Errorf("helper said %q, want %q", line, "served \n")
	}
}

func TestWrongName(t *testing.T) {
	cmd, _ := activate(t, "file", "code")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `named "code"`) {
		t.Errorf("helper with a socket named file: err %v, output %q; want a refusal naming code", err, out)
	}
}

func TestNotActivated(t *testing.T) {
	t.Setenv("LISTEN_FDS", "")
	want := errors.New("fallback")
	_, err := Listen("code", "/x", 0o600, func(p string, m os.FileMode) (net.Listener, error) {
		if p != "/x" || m != 0o600 {
			t.Errorf("fallback(%q, %v)", p, m)
		}
		return nil, want
	})
	if err != want {
		t.Errorf("Listen without activation = %v, want the fallback's result", err)
	}
}
