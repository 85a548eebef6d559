package codeexec

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// TestMain lets the test binary stand in for the sandbox helper's warm
// mode: "warm-helper" reads one request from its control socket
// (descriptor 3) and execs the words after "--" in its directory, with
// its environment and stdio.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "warm-helper" {
		os.Exit(fakeWarmHelper())
	}
	if len(os.Args) > 2 && os.Args[1] == "warm-helper-report" {
		os.Exit(fakeReportingHelper(os.Args[2]))
	}
	if len(os.Args) > 1 && os.Args[1] == "warm-helper-again" {
		os.Exit(fakeReusedHelper())
	}
	os.Exit(m.Run())
}

// fakeRequest says the fake helper is ready and reads one request as
// linux/sandbox does, putting its stdio on 0, 1 and 2; ok is false when
// the socket closed first.
func fakeRequest() (req sandbox.Request, ok bool) {
	syscall.CloseOnExec(3) // the command must not hold it
	if _, err := os.NewFile(3, "control").Write([]byte{readyByte}); err != nil {
		return req, false
	}
	return fakeNext()
}

func fakeWarmHelper() int {
	req, ok := fakeRequest()
	if !ok {
		return 2
	}
	syscall.Chdir(req.Dir)
	argv := req.Args[1:] // after "--"
	syscall.Exec(argv[0], argv, req.Env)
	return 127
}

// fakeReportingHelper is a warm helper that reports its exit code on its
// control socket, as the real one does, and then lingers until linger (a
// FIFO) is opened for writing; it exits with the code plus one, so a
// test can tell which of the two the pool used.
func fakeReportingHelper(linger string) int {
	req, ok := fakeRequest()
	if !ok {
		return 2
	}
	code := fakeRun(req)
	os.NewFile(3, "control").Write([]byte{byte(code), 0})
	if f, err := os.Open(linger); err == nil {
		io.ReadAll(f)
	}
	return code + 1
}

// fakeReusedHelper is a warm helper that runs requests one after
// another, saying after each that it takes another.
func fakeReusedHelper() int {
	req, ok := fakeRequest()
	for ok {
		code := fakeRun(req)
		os.NewFile(3, "control").Write([]byte{byte(code), statusAgain})
		req, ok = fakeNext()
	}
	return 2
}

// fakeNext reads the next request on the control socket, putting its
// stdio on 0, 1 and 2 (fakeRequest says ready first).
func fakeNext() (sandbox.Request, bool) {
	var hdr [4]byte
	oob := make([]byte, syscall.CmsgSpace(3*4))
	n, oobn, _, _, err := syscall.Recvmsg(3, hdr[:], oob, syscall.MSG_CMSG_CLOEXEC)
	if err != nil || n != 4 {
		return sandbox.Request{}, false
	}
	msgs, _ := syscall.ParseSocketControlMessage(oob[:oobn])
	fds, _ := syscall.ParseUnixRights(&msgs[0])
	syscall.Dup3(fds[0], 1, 0)
	syscall.Dup3(fds[1], 2, 0)
	if len(fds) == 3 {
		syscall.Dup3(fds[2], 0, 0)
	}
	for _, fd := range fds {
		syscall.Close(fd)
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(os.NewFile(3, "control"), b); err != nil {
		return sandbox.Request{}, false
	}
	req, err := sandbox.DecodeRequest(b)
	return req, err == nil
}

// fakeRun runs req's command and closes the stdio after it, as the
// helper does before it reports.
func fakeRun(req sandbox.Request) int {
	argv := req.Args[1:] // after "--"
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = req.Dir, req.Env, os.Stdout, os.Stderr
	if req.Stdin {
		cmd.Stdin = os.Stdin
	}
	cmd.Run()
	null, _ := syscall.Open("/dev/null", syscall.O_RDWR, 0)
	syscall.Dup3(null, 0, 0)
	syscall.Dup3(null, 1, 0)
	syscall.Dup3(null, 2, 0)
	syscall.Close(null)
	return cmd.ProcessState.ExitCode()
}

func newTestPool(t *testing.T) *Pool {
	t.Helper()
	p := NewPool([]string{os.Args[0], "warm-helper"}, PoolOptions{})
	t.Cleanup(p.Close)
	return p
}

// waitingPid waits (up to a minute) for the pool's oldest helper to be
// started and returns its pid.
func waitingPid(t *testing.T, p *Pool) int {
	t.Helper()
	return waitingPids(t, p, 1)[0]
}

// waitingPids waits (up to a minute) for n helpers to be waiting in p and
// returns their pids, oldest first.
func waitingPids(t *testing.T, p *Pool, n int) []int {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		p.mu.Lock()
		var pids []int
		for _, w := range p.idle {
			pids = append(pids, w.cmd.Process.Pid)
		}
		p.mu.Unlock()
		if len(pids) >= n {
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the pool did not get %d helpers waiting", n)
	return nil
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
	// Dead and reapable (every thread gone), not yet reaped: a Go
	// process's leader shows as a zombie while its other threads exit.
	eventually(func() bool { return exited(pid) })
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
	child := 0
	// As in TestTimeoutKillsTheGroup, the budget doubles until the shell
	// has started its child before the timeout fires.
	for timeout := 200 * time.Millisecond; child == 0; timeout *= 2 {
		if timeout > time.Minute {
			t.Fatal("no background pid")
		}
		waitingPid(t, p)
		req := sandbox.Request{Args: []string{"--", "/bin/sh", "-c", "sleep 600 & echo $!; wait"}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"}
		res, err := Run(context.Background(), Command{Path: "/bin/sh", Pool: p, Request: req.Encode(), Timeout: timeout, Grace: 100 * time.Millisecond})
		must(t, err)
		if !res.TimedOut {
			t.Fatalf("%+v", res)
		}
		child, _ = strconv.Atoi(strings.TrimSpace(res.Stdout))
	}
	if !eventually(func() bool { return syscall.Kill(child, 0) != nil || zombie(child) }) {
		t.Fatalf("background child %d survived the timeout", child)
	}
}

func TestWarmHelperExitsWithoutARequest(t *testing.T) {
	w, err := startWarm([]string{os.Args[0], "warm-helper"}, nil)
	must(t, err)
	w.ctl.Close()
	err = w.cmd.Wait()
	if w.cmd.ProcessState == nil || w.cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("helper without a request: %v", err)
	}
}

// TestReportedExitCode checks that the pool answers with the exit code a
// helper reports on its control socket, with all the command's output, without
// waiting for the helper to exit: this one lingers after reporting, until
// the group kill that follows every command (a status of 137 or 8 would
// mean the exit was waited for), and is reaped in the background.
func TestReportedExitCode(t *testing.T) {
	linger := filepath.Join(t.TempDir(), "linger")
	must(t, syscall.Mkfifo(linger, 0o600))
	p := NewPool([]string{os.Args[0], "warm-helper-report", linger}, PoolOptions{})
	t.Cleanup(p.Close)
	pid := waitingPid(t, p)
	res := warmRun(t, p, "/", []string{"PATH=/usr/bin:/bin"}, nil, "seq 20000; echo err >&2; exit 7")
	if res.ExitCode != 7 || res.Signal != "" || !strings.HasSuffix(res.Stdout, "\n20000\n") || res.Stderr != "err\n" {
		t.Fatalf("got exit %d %q, stderr %q, stdout ending %q; want the reported 7 and all the output",
			res.ExitCode, res.Signal, res.Stderr, res.Stdout[max(0, len(res.Stdout)-20):])
	}
	if !eventually(func() bool { return syscall.Kill(pid, 0) != nil }) { // reaped in the background
		t.Fatal("the helper was not reaped")
	}
}

// TestPoolKeepsSizeHelpers checks that a pool of three keeps three
// helpers waiting, hands out the oldest first, and tops up to three again
// once a command has finished.
func TestPoolKeepsSizeHelpers(t *testing.T) {
	p := NewPool([]string{os.Args[0], "warm-helper"}, PoolOptions{Size: 3})
	t.Cleanup(p.Close)
	pids := waitingPids(t, p, 3)
	time.Sleep(50 * time.Millisecond)
	p.mu.Lock()
	n := len(p.idle)
	p.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d helpers waiting, want 3", n)
	}
	res := warmRun(t, p, "/", nil, nil, "echo $$")
	if res.Stdout != strconv.Itoa(pids[0])+"\n" {
		t.Fatalf("ran in %q, want the oldest helper %d", res.Stdout, pids[0])
	}
	after := waitingPids(t, p, 3)
	if slices.Contains(after, pids[0]) {
		t.Fatalf("the used helper %d is still listed as waiting: %v", pids[0], after)
	}
	p.Close()
	for _, pid := range after {
		if !eventually(func() bool { return syscall.Kill(pid, 0) != nil || zombie(pid) }) {
			t.Errorf("waiting helper %d survived Close", pid)
		}
	}
}

// TestPoolAttrFallback starts helpers with attributes that cannot work
// (a chroot into a missing directory, as a kernel without user namespaces
// refuses the clone): the pool must start them without, and keep doing so.
func TestPoolAttrFallback(t *testing.T) {
	calls := 0
	var mu sync.Mutex
	attr := func() *syscall.SysProcAttr {
		mu.Lock()
		calls++
		mu.Unlock()
		return &syscall.SysProcAttr{Chroot: filepath.Join(t.TempDir(), "missing")}
	}
	p := NewPool([]string{os.Args[0], "warm-helper"}, PoolOptions{Attr: attr})
	t.Cleanup(p.Close)
	waitingPid(t, p)
	for i := 0; i < 3; i++ {
		if res := warmRun(t, p, "/", nil, nil, "exit 5"); res.ExitCode != 5 {
			t.Fatalf("run %d: %+v", i, res)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("attributes asked for %d times; want once, then no more after the failure", calls)
	}
}

// TestPoolAttrUsed starts helpers in a mount namespace of their own, as
// the code service does, and checks that the command runs in it.
func TestPoolAttrUsed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a mount namespace without a user namespace needs root")
	}
	attr := func() *syscall.SysProcAttr { return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS} }
	p := NewPool([]string{os.Args[0], "warm-helper"}, PoolOptions{Attr: attr})
	t.Cleanup(p.Close)
	mine, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	res := warmRun(t, p, "/", nil, nil, "readlink /proc/self/ns/mnt")
	if got := strings.TrimSpace(res.Stdout); got == "" || got == mine {
		t.Fatalf("command's mount namespace %q, the test's %q: want another", got, mine)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPoolFallbackAttr: where the attributes fail and the fallback
// works (a kernel or unit that refuses network namespaces but not mount
// namespaces), helpers are started with the fallback from then on, not
// without attributes at all.
func TestPoolFallbackAttr(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a mount namespace without a user namespace needs root")
	}
	bad := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Chroot: filepath.Join(t.TempDir(), "missing")}
	}
	good := func() *syscall.SysProcAttr { return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS} }
	p := NewPool([]string{os.Args[0], "warm-helper"}, PoolOptions{Attr: bad, Fallback: good})
	t.Cleanup(p.Close)
	mine, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	for i := 0; i < 3; i++ {
		res := warmRun(t, p, "/", nil, nil, "readlink /proc/self/ns/mnt")
		if got := strings.TrimSpace(res.Stdout); got == "" || got == mine {
			t.Fatalf("run %d: command's mount namespace %q, the test's %q: the fallback was not used", i, got, mine)
		}
	}
}

func reusedPool(t *testing.T) *Pool {
	t.Helper()
	p := NewPool([]string{os.Args[0], "warm-helper-again"}, PoolOptions{})
	t.Cleanup(p.Close)
	return p
}

// kindRun runs script through p as a command of kind and returns its
// output.
func kindRun(t *testing.T, p *Pool, kind, script string) string {
	t.Helper()
	req := sandbox.Request{Args: []string{"--", "/bin/sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: "/"}
	res, err := Run(context.Background(), Command{Path: "/bin/sh", Pool: p, Request: req.Encode(), Kind: kind, Timeout: time.Minute})
	must(t, err)
	return strings.TrimSpace(res.Stdout)
}

// TestPoolReusesByKind: a helper that says it takes another command
// runs the next of the same kind, never one of another kind, and never
// another when its command had no kind.
func TestPoolReusesByKind(t *testing.T) {
	p := reusedPool(t)
	a := kindRun(t, p, "a", "echo $PPID")
	if again := kindRun(t, p, "a", "echo $PPID"); again != a {
		t.Fatalf("kind a ran in %s, then in %s: not reused", a, again)
	}
	if b := kindRun(t, p, "b", "echo $PPID"); b == a {
		t.Fatalf("a command of kind b ran in kind a's helper %s", a)
	}
	none := kindRun(t, p, "", "echo $PPID")
	if next := kindRun(t, p, "", "echo $PPID"); next == none {
		t.Fatalf("a helper whose command had no kind ran another (%s)", none)
	}
	if again := kindRun(t, p, "a", "echo $PPID"); again != a {
		t.Fatalf("kind a's helper %s was not kept for it (ran in %s)", a, again)
	}
}

// TestQueuedCallGetsAFinishedHelper: with every start taken, a call
// waits, and the first helper of its kind to finish a command is handed
// to it.
func TestQueuedCallGetsAFinishedHelper(t *testing.T) {
	p := &Pool{opts: PoolOptions{Size: 1}, starts: 2, starting: 2}
	got := make(chan *warm)
	go func() {
		w, _ := p.take("k") // takes no start: cannot fail
		got <- w
	}()
	eventually(func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.queue) == 1 })
	other, mine := &warm{kind: "other"}, &warm{kind: "k"}
	p.finish("other", other) // not its kind: kept
	p.finish("k", mine)
	select {
	case w := <-got:
		if w != mine {
			t.Fatalf("the queued call got %+v", w)
		}
	case <-time.After(time.Minute):
		t.Fatal("the queued call was not handed the helper of its kind")
	}
	if len(p.used) != 1 || p.used[0] != other {
		t.Fatalf("used helpers %v, want the other kind's", p.used)
	}
}

// TestLongCommandsDoNotHoldStarts: only starts are limited; calls beyond
// them start their own helpers once a start is free, whatever the
// running commands do: here each command waits until all have started.
func TestLongCommandsDoNotHoldStarts(t *testing.T) {
	defer func(n int) { maxStarting = n }(maxStarting)
	maxStarting = 1
	p := reusedPool(t)
	dir := t.TempDir()
	const n = 5
	script := `touch "$$"; for i in $(seq 1500); do [ "$(ls | wc -l)" -ge ` + strconv.Itoa(n) + ` ] && { echo $$; exit 0; }; sleep 0.02; done; exit 1`
	var wg sync.WaitGroup
	out := make([]*Result, n)
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = warmRunKind(t, p, dir, "k", script)
		}()
	}
	wg.Wait()
	for i, r := range out {
		if r.ExitCode != 0 {
			t.Fatalf("call %d of %d concurrent long ones: %+v", i, n, r)
		}
	}
}

func warmRunKind(t *testing.T, p *Pool, dir, kind, script string) *Result {
	t.Helper()
	req := sandbox.Request{Args: []string{"--", "/bin/sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir}
	res, err := Run(context.Background(), Command{Path: "/bin/sh", Pool: p, Request: req.Encode(), Kind: kind, Timeout: 2 * time.Minute})
	if err != nil {
		t.Error(err)
		return &Result{ExitCode: -1}
	}
	return res
}
