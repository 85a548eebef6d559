//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// supervisor is a helper's set-up that does not depend on its command:
// a warm helper makes it while it waits for its request.
type supervisor struct {
	sigs chan os.Signal
	chld chan os.Signal // SIGCHLD, one buffered: waitExit
	// ownMounts is set when the helper runs in a mount namespace of its
	// own (the code service started it in one: core/sandbox.WarmStart),
	// with mount propagation back out already cut: it can then mount the
	// command's read-only corners itself and start the command in one
	// stage, with no second Go start.
	ownMounts bool
	ppid      int // the parent ownMounts was checked against
	// terminals is set when the helper mounted a private devpts in its
	// own mount namespace: only then may a command it starts in one
	// stage open /dev/ptmx and /dev/pts (terminals_linux.go).
	terminals bool
	// ownNet is set when the helper runs in a network namespace of its
	// own, loopback up, and egress is the descriptor to the service's
	// proxy (-1: none): a command that asks for network (Spec.Egress)
	// runs only then (egress_linux.go).
	ownNet bool
	// ownIPC is set when the helper runs in an IPC namespace of its own
	// (ipc_linux.go): the SysV objects there are its commands' alone.
	ownIPC bool
	egress int
	// forwarder is the forwarder's listener, opened at warm-up where
	// the helper has a network namespace and the proxy's descriptor:
	// off the command's path. Nil: opened on demand.
	forwarder net.Listener
	// fwd is the running forwarder of a command with network, stopped
	// once the command is gone; passed is then how many connections it
	// passed (-1: no forwarder, or not stopped).
	fwd    *forwarder
	passed int
	// What reusable asks of the last command (reuse_linux.go): whether it
	// started in one stage, the limits its thread set for the process
	// before it forked, whether the sweep found a process left, and
	// whether the helper got a signal meanwhile. before is the helper's
	// scheduling at start.
	oneStage, swept, signalled bool
	limits                     rlimits
	confined                   int // the thread the command was forked from
	before                     scheduling
}

// newSupervisor gives up the controlling terminal, makes the process a
// child subreaper and catches the signals forward passes on and SIGCHLD.
// It leaves the calling goroutine free to move between threads: the
// goroutine that starts the command locks itself to its thread (the
// command's parent-death signal fires when the thread that forked it
// dies), and locking this one too cost a helper a thread more (handing
// the processor back and forth).
func newSupervisor() (*supervisor, error) {
	if err := dropControllingTerminal(); err != nil {
		return nil, err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become a child subreaper: %w", err)
	}
	s := &supervisor{sigs: make(chan os.Signal, 4), chld: make(chan os.Signal, 1), egress: -1, passed: -1}
	signal.Notify(s.sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	signal.Notify(s.chld, unix.SIGCHLD) // waitExit
	return s, nil
}

// supervise starts the command and stays its parent until every
// descendant is gone. The signals stay caught until the helper exits.
func supervise(inv invocation) int {
	s, err := newSupervisor()
	if err != nil {
		return fail("%v", err)
	}
	return s.run(inv)
}

// run starts the command (in one stage where it can, see start) and
// returns the helper's exit code once every descendant is gone.
func (s *supervisor) run(inv invocation) int {
	cg := newCgroup(inv.spec.Limits.Procs) // nil when none can be made
	defer cg.remove()

	released := make(chan struct{})
	defer close(released)
	child, err := s.start(inv, cg, released)
	if err != nil && notFound(err) {
		fmt.Fprintf(os.Stderr, "carapace sandbox-exec: %v\n", err)
		return exitNotFound
	}
	if err != nil {
		return fail("%v", err)
	}
	terminated := make(chan unix.Signal, 1)
	stop, stopped := make(chan struct{}), make(chan bool)
	go func() { stopped <- forward(s.sigs, child, terminated, stop) }()

	status := s.waitExit(child.pid)
	close(stop)
	s.signalled = <-stopped // the forwarder is gone before the pidfd closes
	child.close()
	s.swept = sweep(cg)
	s.passed = s.fwd.stop() // before report: the session ends with the command
	select {
	case sig := <-terminated:
		return 128 + int(sig)
	default:
	}
	return exitStatus(status)
}

// report tells the service the command's exit code, on the control
// socket: one byte, then the status flags (reuse_linux.go): whether the
// helper takes another request (again) and, for a command with network,
// whether its forwarder passed any connection (so that the proxy need
// send no record). Standard input, output and error are closed first —
// every process that could use them is gone — so the service has all the
// output when the code arrives. A helper not taking another request
// exits next: the teardown of a Go process and its namespaces (most of
// a millisecond here) is not in the call's time.
func (s *supervisor) report(ctl *os.File, code int, again bool) {
	if null, err := unix.Open("/dev/null", unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup3(null, 0, 0)
		unix.Dup3(null, 1, 0)
		unix.Dup3(null, 2, 0)
		unix.Close(null)
	}
	var flags byte
	switch {
	case again:
		flags |= statusAgain
	case s.passed == 0:
		flags |= statusNoConnections
	case s.passed > 0:
		flags |= statusConnections
	}
	ctl.Write([]byte{byte(code), flags})
}

// start starts the command in one stage — forked from a confined thread
// of this process — unless a per-command cgroup must be joined first, or
// read-only corners must be mounted and this process has no mount
// namespace of its own to mount them in: then a second stage of the
// helper is re-executed in new namespaces to do it.
func (s *supervisor) start(inv invocation, cg *cgroup, released <-chan struct{}) (*stage2, error) {
	if inv.spec.Egress {
		if !s.ownNet || s.egress < 0 || os.Getppid() != s.ppid {
			return nil, errors.New("the command may use the network only through Carapace's proxy, and this helper has no network namespace of its own or no way to the proxy: refusing to run it with network (docs/network.md)")
		}
		fwd, err := startForwarder(s.forwarder, s.egress)
		if err != nil {
			return nil, err
		}
		s.fwd = fwd
	} else if s.forwarder != nil {
		s.forwarder.Close() // no network for this command: nothing listens
	}
	protected, masked := existingPaths(inv.spec.Protected), existingPaths(inv.spec.Masked)
	mountHere := s.ownMounts && os.Getppid() == s.ppid
	if cg != nil || (len(protected)+len(masked) > 0 && !mountHere) {
		return startStage2(inv, cg)
	}
	if err := bindReadOnly(protected); err != nil { // propagation was cut at warm-up (ownMountNamespace)
		return nil, fmt.Errorf("protect read-only paths: %w", err)
	}
	if err := mask(masked); err != nil {
		return nil, fmt.Errorf("mask deny_read paths: %w", err)
	}
	inv.spec = withTerminals(inv.spec, s.terminals)
	c, err := startOneStage(inv, released)
	if err == nil {
		s.oneStage, s.limits, s.confined = true, c.limits, c.thread
	}
	return c, err
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "carapace sandbox-exec: "+format+"\n", args...)
	return exitConfine
}

// stage2 is the running second stage, later the command itself.
type stage2 struct {
	pid   int
	pidfd int // -1 when the kernel has no pidfd_open (before 5.3)
	// limits are the process's resource limits as the command's thread
	// set them, before it forked, and thread is that thread (one stage
	// only).
	limits rlimits
	thread int
}

// signal sends sig without the risk of hitting a recycled pid where the
// kernel allows it.
func (c *stage2) signal(sig unix.Signal) {
	if c.pidfd >= 0 {
		unix.PidfdSendSignal(c.pidfd, sig, nil, 0)
		return
	}
	unix.Kill(c.pid, sig)
}

func (c *stage2) close() {
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
	}
}

// startStage2 re-executes this binary as "sandbox-exec --stage2", in a
// private mount namespace when there are read-only corners to mount, puts
// it into cg, and lets it go.
func startStage2(inv invocation, cg *cgroup) (*stage2, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	runtime.LockOSThread() // never unlocked: the second stage's parent-death signal fires when this thread ends
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	sys := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if len(existingPaths(inv.spec.Protected))+len(existingPaths(inv.spec.Masked)) > 0 {
		namespaceAttr(sys)
	}
	argv := append([]string{exe, "sandbox-exec", "--stage2", "--spec", inv.spec.Encode(), "--"}, inv.argv...)
	pid, err := syscall.ForkExec(exe, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2, r.Fd()},
		Sys:   sys,
	})
	if err != nil {
		return nil, fmt.Errorf("start the sandbox's second stage: %w (user namespaces may be disabled; see docs/sandbox.md)", err)
	}
	c := &stage2{pid: pid, pidfd: -1}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		c.pidfd = fd
	}
	if err := cg.add(pid); err != nil {
		c.signal(unix.SIGKILL)
		waitFor(pid)
		return nil, err
	}
	if _, err := w.Write([]byte{1}); err != nil {
		return nil, fmt.Errorf("release the second stage: %w", err)
	}
	return c, nil
}

// forward passes SIGINT to the command and turns SIGTERM and SIGHUP into
// SIGKILL for it (the sweep then takes the rest), recording which signal
// ended the helper, until stop is closed; it returns whether any signal
// came.
func forward(sigs <-chan os.Signal, c *stage2, terminated chan<- unix.Signal, stop <-chan struct{}) bool {
	got := false
	for {
		var sig unix.Signal
		select {
		case <-stop:
			return got
		case s := <-sigs:
			sig, got = s.(unix.Signal), true
		}
		if sig == unix.SIGINT {
			c.signal(unix.SIGINT)
			continue
		}
		select {
		case terminated <- sig:
		default:
		}
		c.signal(unix.SIGKILL)
	}
}

// waitFor reaps children until pid exits, and returns its status. Other
// children reaped meanwhile are orphans that reparented to this subreaper.
func waitFor(pid int) unix.WaitStatus {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || got == pid {
			return ws
		}
	}
}

// exitStatus maps a wait status to a shell-style exit code.
func exitStatus(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return exitConfine
}
