package codeexec

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// TestMain lets the test binary stand in for the sandbox helper's warm
// mode: "warm-helper" reads a sandbox.Request from descriptor 3 and execs
// the words after "--" in its directory, with its environment.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "warm-helper" {
		os.Exit(fakeWarmHelper())
	}
	os.Exit(m.Run())
}

func fakeWarmHelper() int {
	b, _ := io.ReadAll(os.NewFile(3, "request"))
	if len(b) == 0 {
		return 2
	}
	req, err := sandbox.DecodeRequest(b)
	if err != nil {
		return 126
	}
	if !req.Stdin {
		null, _ := syscall.Open("/dev/null", syscall.O_RDONLY, 0)
		syscall.Dup3(null, 0, 0)
	}
	syscall.Chdir(req.Dir)
	argv := req.Args[1:] // after "--"
	syscall.Exec(argv[0], argv, req.Env)
	return 127
}

func newTestPool(t *testing.T) *Pool {
	t.Helper()
	p := NewPool([]string{os.Args[0], "warm-helper"})
	t.Cleanup(p.Close)
	return p
}

// waitingPid waits (up to 10 s) for the pool's helper to be started and
// returns its pid.
func waitingPid(t *testing.T, p *Pool) int {
	t.Helper()
	for i := 0; i < 1000; i++ {
		p.mu.Lock()
		w := p.waiting
		p.mu.Unlock()
		if w != nil {
			return w.cmd.Process.Pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the pool started no helper")
	return 0
}

// warmRun runs script with sh in dir through p.
func warmRun(t *testing.T, p *Pool, dir string, env []string, stdin []byte, script string) *Result {
	t.Helper()
	req := sandbox.Request{Args: []string{"--", "/bin/sh", "-c", script}, Env: env, Dir: dir, Stdin: stdin != nil}
	res, err := Run(context.Background(), Command{Path: "/bin/sh", Pool: p, Request: req.Encode(), Stdin: stdin, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWarmHelperIsUsed(t *testing.T) {
	p := newTestPool(t)
	pid := waitingPid(t, p)
	res := warmRun(t, p, "/", nil, []byte("in"), "echo $$; cat; echo err >&2; exit 3")
	if res.Stdout != strconv.Itoa(pid)+"\nin" || res.Stderr != "err\n" || res.ExitCode != 3 {
		t.Fatalf("got %+v; want the waiting helper (pid %d) to run the command", res, pid)
	}
	if next := waitingPid(t, p); next == pid {
		t.Fatal("the pool did not start the next helper")
	}
	// No stdin: /dev/null, as for a command started without a pool.
	if res := warmRun(t, p, "/", nil, nil, "readlink /proc/self/fd/0"); res.Stdout != "/dev/null\n" {
		t.Fatalf("stdin without input: %q", res.Stdout)
	}
}

func TestDeadWarmHelperIsReplaced(t *testing.T) {
	p := newTestPool(t)
	pid := waitingPid(t, p)
	must(t, syscall.Kill(pid, syscall.SIGKILL))
	for i := 0; i < 1000 && !zombie(pid); i++ { // dead, not yet reaped
		time.Sleep(10 * time.Millisecond)
	}
	res := warmRun(t, p, "/", nil, nil, "echo $$")
	if res.ExitCode != 0 || res.Stdout == strconv.Itoa(pid)+"\n" || res.Stdout == "" {
		t.Fatalf("after the waiting helper died: %+v", res)
	}
}

func TestConcurrentCallsGetTheirOwnHelper(t *testing.T) {
	p := newTestPool(t)
	waitingPid(t, p)
	dir := t.TempDir()
	// Each call waits until both have started, so they overlap.
	script := `touch "$$"; for i in $(seq 500); do [ "$(ls | wc -l)" -ge 2 ] && { echo $$; exit 0; }; sleep 0.02; done; exit 1`
	var wg sync.WaitGroup
	out := make([]*Result, 2)
	for i := range out {
		wg.Add(1)
		go func() { defer wg.Done(); out[i] = warmRun(t, p, dir, []string{"PATH=/usr/bin:/bin"}, nil, script) }()
	}
	wg.Wait()
	if out[0].ExitCode != 0 || out[1].ExitCode != 0 || out[0].Stdout == out[1].Stdout {
		t.Fatalf("two concurrent calls: %+v and %+v", out[0], out[1])
	}
}

func TestCloseKillsTheWaitingHelper(t *testing.T) {
	p := newTestPool(t)
	pid := waitingPid(t, p)
	p.Close()
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("helper %d still exists after Close: %v", pid, err)
	}
	// A closed pool still runs commands, starting helpers on the spot.
	if res := warmRun(t, p, "/", nil, nil, "exit 4"); res.ExitCode != 4 {
		t.Fatalf("after Close: %+v", res)
	}
}

func TestNoLeaksBetweenWarmCalls(t *testing.T) {
	p := newTestPool(t)
	d1, d2 := t.TempDir(), t.TempDir()
	warmRun(t, p, d1, []string{"SECRET=one", "PATH=/usr/bin:/bin"}, nil, "cd /tmp; export LEAK=1; true")
	res := warmRun(t, p, d2, []string{"PATH=/usr/bin:/bin"}, nil, "pwd; env")
	lines := strings.Split(res.Stdout, "\n")
	if real, _ := filepath.EvalSymlinks(d2); lines[0] != real && lines[0] != d2 {
		t.Errorf("second call ran in %q, want %q", lines[0], d2)
	}
	for _, bad := range []string{"SECRET", "LEAK", "one"} {
		if strings.Contains(res.Stdout, bad) {
			t.Errorf("%s leaked into the next call:\n%s", bad, res.Stdout)
		}
	}
}

func TestWarmTimeoutKillsTheGroup(t *testing.T) {
	p := newTestPool(t)
	waitingPid(t, p)
	req := sandbox.Request{Args: []string{"--", "/bin/sh", "-c", "sleep 1000 & echo $!; wait"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"}
	res, err := Run(context.Background(), Command{Path: "/bin/sh", Pool: p, Request: req.Encode(), Timeout: 200 * time.Millisecond, Grace: 100 * time.Millisecond})
	must(t, err)
	if !res.TimedOut {
		t.Fatalf("%+v", res)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(res.Stdout))
	if child == 0 {
		t.Fatalf("no background pid: %+v", res)
	}
	for i := 0; i < 500 && syscall.Kill(child, 0) == nil && !zombie(child); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if syscall.Kill(child, 0) == nil && !zombie(child) {
		t.Fatalf("background child %d survived the timeout", child)
	}
}

func TestWarmHelperExitsWithoutARequest(t *testing.T) {
	w, err := startWarm([]string{os.Args[0], "warm-helper"})
	must(t, err)
	w.ctl.Close()
	w.stdin.Close()
	err = w.cmd.Wait()
	if w.cmd.ProcessState == nil || w.cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("helper without a request: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
