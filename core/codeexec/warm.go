package codeexec

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// Pool keeps one helper process started ahead of need, so that a command
// does not wait for the helper's own start (a Go binary: milliseconds).
// The helper (core/sandbox.Warm) runs in a new session with stdin, stdout
// and stderr pipes the pool holds, and blocks reading one request from
// descriptor 3; Run hands it the request, and the pool starts the next
// helper in the background. A Pool is safe for concurrent use: each Run
// takes its own helper, starting one on the spot when none is waiting.
type Pool struct {
	argv []string

	mu      sync.Mutex
	waiting *warm // started, not yet taken; nil while none is
	filling bool
	closed  bool
}

// warm is one started helper waiting for its request.
type warm struct {
	cmd            *exec.Cmd
	ctl            *os.File // write end of the helper's descriptor 3
	stdin          io.WriteCloser
	stdout, stderr *lateWriter
}

// NewPool returns a pool of helpers started as argv, and starts the first.
func NewPool(argv []string) *Pool {
	p := &Pool{argv: argv}
	p.refill()
	return p
}

// Close kills the waiting helper, if any; later Runs start helpers on the
// spot. It does not touch helpers already running commands.
func (p *Pool) Close() {
	p.mu.Lock()
	w := p.waiting
	p.waiting, p.closed = nil, true
	p.mu.Unlock()
	if w != nil {
		w.discard()
	}
}

// take returns the waiting helper, or a new one, and has the next started.
func (p *Pool) take() (*warm, error) {
	p.mu.Lock()
	w := p.waiting
	p.waiting = nil
	p.mu.Unlock()
	p.refill()
	if w != nil {
		return w, nil
	}
	return startWarm(p.argv)
}

// refill starts a helper in the background unless one is waiting or
// starting, or the pool is closed.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.filling || p.waiting != nil {
		return
	}
	p.filling = true
	go func() {
		w, err := startWarm(p.argv)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.filling = false
		if err != nil {
			return // the next take starts one itself and reports the error
		}
		if p.closed || p.waiting != nil {
			go w.discard()
			return
		}
		p.waiting = w
	}()
}

// startWarm starts one helper: a new session, an empty environment, "/"
// as its directory, pipes on 0, 1, 2 and the request pipe on 3.
func startWarm(argv []string) (*warm, error) {
	r, ctl, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(argv[0])
	cmd.Args, cmd.Env, cmd.Dir = argv, []string{}, "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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
