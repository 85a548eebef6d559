package codeexec

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Pool keeps helper processes started ahead of need, so that a command
// does not wait for its helper's own start (a Go binary: milliseconds).
// A helper (core/sandbox.Warm) runs in a new session with stdin, stdout
// and stderr pipes the pool holds, and blocks reading one request from
// descriptor 3; Run hands it the request. A Pool is safe for concurrent
// use: each Run takes a helper of its own, the oldest waiting one, or
// one started on the spot when none is waiting. Helpers are replaced in
// the background once a command has finished, so that the next start
// does not compete for the CPU with the command it would serve.
type Pool struct {
	argv []string
	opts PoolOptions

	mu       sync.Mutex
	idle     []*warm // started, not yet taken, oldest first
	filling  int     // starts under way
	closed   bool
	plain    bool // a start with opts.Attr failed where one without worked
	fellBack bool // a start with opts.Attr failed where one with opts.Fallback worked
}

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Size is how many helpers are kept waiting; 0 means 1.
	Size int
	// Attr, when set, returns the process attributes each helper is
	// started with (Setsid is added). When a start with them fails and
	// one without succeeds, the pool starts helpers without them from
	// then on.
	Attr func() *syscall.SysProcAttr
	// Fallback, when set, is tried when a start with Attr fails, before
	// starting without attributes: fewer namespaces (on Linux, no
	// network namespace) rather than none. When it works the pool uses
	// it from then on.
	Fallback func() *syscall.SysProcAttr
}

// warm is one started helper waiting for its request.
type warm struct {
	cmd            *exec.Cmd
	ctl            *os.File // write end of the helper's descriptor 3
	status         *os.File // read end of its descriptor 4: see wait
	stdin          io.WriteCloser
	stdout, stderr *lateWriter
	outputs        [2]*os.File // read ends of its stdout and stderr
	// egress is the pool's end of a stream socket pair whose other end
	// the helper has as descriptor 5: the only way out of its network
	// namespace (Command.Egress). Nil where none could be made.
	egress *os.File
	copied sync.WaitGroup // the copies from outputs
}

// NewPool returns a pool of helpers started as argv, and starts them.
func NewPool(argv []string, o PoolOptions) *Pool {
	if o.Size <= 0 {
		o.Size = 1
	}
	p := &Pool{argv: argv, opts: o}
	p.refill()
	return p
}

// Close kills the waiting helpers; later Runs start helpers on the
// spot. It does not touch helpers already running commands.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		w.discard()
	}
}

// take returns the oldest waiting helper (the likeliest to have finished
// starting), or a new one.
func (p *Pool) take() (*warm, error) {
	p.mu.Lock()
	var w *warm
	if len(p.idle) > 0 {
		w = p.idle[0]
		p.idle = p.idle[1:]
	}
	p.mu.Unlock()
	if w != nil {
		return w, nil
	}
	return p.start()
}

// refill starts helpers in the background until Size are waiting or
// starting, unless the pool is closed.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; !p.closed && len(p.idle)+p.filling < p.opts.Size; p.filling++ {
		go func() {
			w, err := p.start()
			p.mu.Lock()
			defer p.mu.Unlock()
			p.filling--
			if err != nil {
				return // the next take starts one itself and reports the error
			}
			if p.closed || len(p.idle) >= p.opts.Size {
				go w.discard()
				return
			}
			p.idle = append(p.idle, w)
		}()
	}
}

// start starts one helper, with the pool's attributes unless they have
// failed before.
func (p *Pool) start() (*warm, error) {
	p.mu.Lock()
	attr, usedFallback := p.opts.Attr, p.fellBack
	if usedFallback {
		attr = p.opts.Fallback
	}
	if p.plain {
		attr = nil
	}
	p.mu.Unlock()
	if attr == nil {
		return startWarm(p.argv, nil)
	}
	w, err := startWarm(p.argv, attr())
	if err == nil {
		return w, nil
	}
	// Whether this start used the fallback is what it chose above, not
	// what the pool says now: a concurrent start may have fallen back
	// meanwhile, and this one must then try the fallback too, not go
	// without attributes.
	if !usedFallback && p.opts.Fallback != nil {
		if w, ferr := startWarm(p.argv, p.opts.Fallback()); ferr == nil {
			p.mu.Lock()
			p.fellBack = true
			p.mu.Unlock()
			return w, nil
		}
	}
	w, perr := startWarm(p.argv, nil)
	if perr != nil {
		return nil, err
	}
	p.mu.Lock()
	p.plain = true
	p.mu.Unlock()
	return w, nil
}

// startWarm starts one helper: a new session, an empty environment, "/"
// as its directory, pipes on 0, 1 and 2, the request pipe on 3 and the
// status pipe on 4.
func startWarm(argv []string, sys *syscall.SysProcAttr) (w *warm, err error) {
	var ends []*os.File // the helper's ends, closed here once it has them
	defer func() {
		for _, f := range ends {
			f.Close()
		}
		if err != nil && w != nil {
			w.closeAll()
		}
	}()
	w = &warm{stdout: &lateWriter{}, stderr: &lateWriter{}}
	pipe := func(mine **os.File, theirsRead bool) (*os.File, error) {
		r, wr, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		if theirsRead {
			*mine = wr
			ends = append(ends, r)
			return r, nil
		}
		*mine = r
		ends = append(ends, wr)
		return wr, nil
	}
	req, err := pipe(&w.ctl, true)
	if err != nil {
		return w, err
	}
	status, err := pipe(&w.status, false)
	if err != nil {
		return w, err
	}
	stdout, err := pipe(&w.outputs[0], false)
	if err != nil {
		return w, err
	}
	stderr, err := pipe(&w.outputs[1], false)
	if err != nil {
		return w, err
	}
	theirs, err := egressPair(&w.egress)
	if err != nil {
		return w, err
	}
	ends = append(ends, theirs)
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	sys.Setsid = true
	w.cmd = exec.Command(argv[0])
	// GOMAXPROCS=1: the helper runs one command; a Go program told its
	// processor count skips sizing itself from the CPU set and cgroup
	// limits and starts fewer threads (1.37 ms of CPU to start instead of
	// 1.87 ms here, what a burst of commands is bound by). The helper
	// replaces its whole environment with the request's.
	w.cmd.Args, w.cmd.Env, w.cmd.Dir = argv, []string{"GOMAXPROCS=1"}, "/"
	w.cmd.SysProcAttr = sys
	w.cmd.ExtraFiles = []*os.File{req, status, theirs}
	w.cmd.Stdout, w.cmd.Stderr = stdout, stderr
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return w, err
	}
	if err := w.cmd.Start(); err != nil {
		return w, err
	}
	w.copied.Add(2)
	go w.copyOut(w.stdout, w.outputs[0])
	go w.copyOut(w.stderr, w.outputs[1])
	return w, nil
}

func (w *warm) copyOut(to io.Writer, from *os.File) {
	defer w.copied.Done()
	io.Copy(to, from)
}

// egressPair makes the socket pair of descriptor 5 and returns the
// helper's end.
func egressPair(mine **os.File) (*os.File, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	syscall.SetNonblock(fds[0], true) // pollable: a reader can be woken by Close
	*mine = os.NewFile(uintptr(fds[0]), "egress")
	return os.NewFile(uintptr(fds[1]), "egress-helper"), nil
}

// closeAll closes the pool's ends of a helper that did not start.
func (w *warm) closeAll() {
	for _, f := range []*os.File{w.ctl, w.status, w.outputs[0], w.outputs[1], w.egress} {
		if f != nil {
			f.Close()
		}
	}
}

// wait returns how the helper ended. A helper reports its exit code on
// descriptor 4 just before it exits, after closing its output (one byte;
// for a command with network a second, 0 when its forwarder passed no
// connection, after the forwarder has stopped: linux/sandbox): the code
// is then taken from there and the helper is reaped in the background,
// without waiting for a Go process's exit (most of a millisecond). One
// that did not report (killed) is waited for. Either way the output is
// read to its end first, for at most delay: no descendant should outlive
// the helper's sweep, but one that kept a pipe open must not hold the
// answer.
func (w *warm) wait(delay time.Duration) exitInfo {
	var b [2]byte // the code; for a command with network, whether it connected
	n, _ := io.ReadFull(w.status, b[:])
	w.status.Close()
	if n >= 1 {
		w.drain(delay)
		go w.cmd.Wait()
		return exitInfo{code: int(b[0]), noConnections: n == 2 && b[1] == 0}
	}
	w.cmd.Wait()
	w.drain(delay)
	return exitOf(w.cmd.ProcessState)
}

// drain waits up to delay for both outputs to reach their end, then
// closes them.
func (w *warm) drain(delay time.Duration) {
	done := make(chan struct{})
	go func() { w.copied.Wait(); close(done) }()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		w.outputs[0].Close()
		w.outputs[1].Close()
		<-done
	}
	w.outputs[0].Close()
	w.outputs[1].Close()
}

// send gives the helper its request and its output's destinations. An
// error means the helper is gone (it died while waiting).
func (w *warm) send(req []byte, stdout, stderr io.Writer) error {
	w.stdout.set(stdout)
	w.stderr.set(stderr)
	_, err := w.ctl.Write(req)
	if cerr := w.ctl.Close(); err == nil {
		err = cerr
	}
	return err
}

// discard kills an unused helper, reaps it and closes its pipes.
func (w *warm) discard() {
	w.ctl.Close()
	w.cmd.Process.Kill()
	w.cmd.Wait()
	w.status.Close()
	w.copied.Wait()
	w.outputs[0].Close()
	w.outputs[1].Close()
	if w.egress != nil {
		w.egress.Close()
	}
}

// feed writes stdin to the helper and closes the pipe (the helper gives
// the command /dev/null instead when the request says there is none).
func (w *warm) feed(stdin []byte) {
	if len(stdin) > 0 {
		w.stdin.Write(stdin) // an error: the command stopped reading
	}
	w.stdin.Close()
}

// lateWriter passes writes to a writer set once, later; what comes before
// (a helper's complaint before its request) is kept and passed on then.
type lateWriter struct {
	mu   sync.Mutex
	to   io.Writer
	held []byte
}

func (l *lateWriter) set(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.to = w
	if len(l.held) > 0 {
		w.Write(l.held)
		l.held = nil
	}
}

func (l *lateWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.to == nil {
		if len(l.held) < 1<<16 {
			l.held = append(l.held, p...)
		}
		return len(p), nil
	}
	return l.to.Write(p)
}

// errHelperGone is a helper that died before it got its request.
var errHelperGone = errors.New("the warm sandbox helper exited before its request")
