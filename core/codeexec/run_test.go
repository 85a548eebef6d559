package codeexec

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T, c Command) *Result {
	t.Helper()
	if c.Path == "" {
		c.Path = "/bin/sh"
	}
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExitCodeAndOutput(t *testing.T) {
	res := run(t, Command{Args: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if res.Stdout != "out\n" || res.Stderr != "err\n" || res.ExitCode != 3 || res.TimedOut || res.Truncated {
		t.Fatalf("%+v", res)
	}
}

func TestSignalled(t *testing.T) {
	res := run(t, Command{Args: []string{"sh", "-c", "kill -9 $$"}})
	if res.Signal != "SIGKILL" || res.ExitCode != 128+9 {
		t.Fatalf("%+v", res)
	}
}

func TestOutputCapped(t *testing.T) {
	res := run(t, Command{Args: []string{"sh", "-c", "head -c 100000 /dev/zero"}, MaxOutput: 1000})
	if len(res.Stdout) != 1000 || !res.Truncated || res.ExitCode != 0 {
		t.Fatalf("len %d truncated %v exit %d", len(res.Stdout), res.Truncated, res.ExitCode)
	}
}

func TestStdin(t *testing.T) {
	res := run(t, Command{Args: []string{"sh", "-c", "tr a-z A-Z"}, Stdin: []byte("hello")})
	if res.Stdout != "HELLO" {
		t.Fatalf("%+v", res)
	}
}

// TestTimeoutKillsTheGroup: on timeout the command and what it started in
// its process group are gone, and the call does not wait for a child that
// keeps the output pipe open.
func TestTimeoutKillsTheGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	start := time.Now()
	res := run(t, Command{Args: []string{"sh", "-c", "sleep 60 & echo $! > " + pidFile + "; wait"},
		Timeout: 200 * time.Millisecond, Grace: 100 * time.Millisecond})
	if !res.TimedOut {
		t.Fatalf("not timed out: %+v", res)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("Run waited for the background child")
	}
	b, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		t.Fatal("no child pid recorded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		fmtSscan(pid, &n)
		if err := syscall.Kill(n, 0); err != nil || zombie(n) {
			break // gone (a zombie is dead, waiting for init to reap it)
		}
		if time.Now().After(deadline) {
			t.Fatalf("background child %s outlived the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartFailure(t *testing.T) {
	_, err := Run(context.Background(), Command{Path: "/nonexistent/prog", Args: []string{"prog"}})
	if err == nil || !strings.Contains(err.Error(), "start") {
		t.Fatalf("err = %v", err)
	}
}

func fmtSscan(s string, n *int) {
	for _, c := range s {
		if c < '0' || c > '9' {
			return
		}
		*n = *n*10 + int(c-'0')
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
