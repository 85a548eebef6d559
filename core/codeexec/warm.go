package codeexec

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
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

	mu      sync.Mutex
	idle    []*warm // started, not yet taken, oldest first
	filling int     // starts under way
	closed  bool
	plain   bool // a start with opts.Attr failed where one without worked
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
}

// warm is one started helper waiting for its request.
type warm struct {
	cmd            *exec.Cmd
	ctl            *os.File // write end of the helper's descriptor 3
	stdin          io.WriteCloser
	stdout, stderr *lateWriter
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
	attr := p.opts.Attr
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
// as its directory, pipes on 0, 1, 2 and the request pipe on 3.
func startWarm(argv []string, sys *syscall.SysProcAttr) (*warm, error) {
	r, ctl, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	sys.Setsid = true
	cmd := exec.Command(argv[0])
	cmd.Args, cmd.Env, cmd.Dir = argv, []string{}, "/"
	cmd.SysProcAttr = sys
	cmd.ExtraFiles = []*os.File{r}
	w := &warm{cmd: cmd, ctl: ctl, stdout: &lateWriter{}, stderr: &lateWriter{}}
	cmd.Stdout, cmd.Stderr = w.stdout, w.stderr
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		ctl.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		ctl.Close()
		return nil, err
	}
	return w, nil
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

// discard kills an unused helper and reaps it.
func (w *warm) discard() {
	w.ctl.Close()
	w.cmd.Process.Kill()
	w.cmd.Wait()
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
