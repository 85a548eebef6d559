package codeexec

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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
	var pid int
	// The timeout must fire after the shell has started its child; on a
	// busy machine that can take longer than any fixed budget, so the
	// budget doubles until a run gets that far.
	for timeout := 200 * time.Millisecond; pid == 0; timeout *= 2 {
		if timeout > time.Minute {
			t.Fatal("no child pid recorded")
		}
		start := time.Now()
		res := run(t, Command{Args: []string{"sh", "-c", "sleep 600 & echo $! > " + pidFile + "; wait"},
			Timeout: timeout, Grace: 100 * time.Millisecond})
		if !res.TimedOut {
			t.Fatalf("not timed out: %+v", res)
		}
		if time.Since(start) > timeout+time.Minute {
			t.Fatal("Run waited for the background child")
		}
		b, _ := os.ReadFile(pidFile)
		fmtSscan(strings.TrimSpace(string(b)), &pid)
	}
	if !eventually(func() bool { return syscall.Kill(pid, 0) != nil || zombie(pid) }) {
		t.Fatalf("background child %d outlived the timeout", pid)
	}
}

// eventually reports whether cond became true within a minute: the
// budget for anything a test waits on, long enough for a busy machine.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}
