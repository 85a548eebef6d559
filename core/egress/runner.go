package egress

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Runner starts the proxy process and opens sessions in it; it is the
// code service's side of the control socket (process.go). The process is
// started on the first session and again if it has died. Where Socket
// exists (the installed stack's carapace-egress.socket) the Runner
// connects to it instead and starts nothing (listen.go).
type Runner struct {
	// Argv starts the proxy process: [executable, ProcessWord].
	Argv []string
	// Socket is where a proxy run by systemd listens; "" or a path
	// that does not exist, and the Runner starts the process itself.
	Socket string

	mu   sync.Mutex
	ctl  *os.File
	proc *os.Process
}

// NewRunner returns a Runner for the running executable.
func NewRunner() (*Runner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return &Runner{Argv: []string{exe, ProcessWord}}, nil
}

// Session is one command's connections being served in the proxy process.
type Session struct {
	sess  *os.File
	done  chan struct{}
	ready chan struct{} // closed when the proxy said it serves, or at done
}

// Open hands the pool's end of a helper's descriptor 5 to the proxy
// process, which serves the command's connections with cfg; record is
// called with each connection's Record, from one goroutine, in order, and
// ask (cfg.Ask; nil refuses) with each target held for the owner, from a
// goroutine of its own: it blocks until the owner decides. Open takes
// helper and closes it.
func (r *Runner) Open(cfg SessionConfig, helper *os.File, record func(Record), ask func(Target) (bool, string)) (*Session, error) {
	defer helper.Close()
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if len(b) > maxMessage {
		return nil, fmt.Errorf("egress session: config of %d bytes, more than %d", len(b), maxMessage)
	}
	mine, theirs, err := seqpacketPair()
	if err != nil {
		return nil, fmt.Errorf("egress session: %w", err)
	}
	defer theirs.Close()
	if err := r.send(b, helper, theirs); err != nil {
		mine.Close()
		return nil, err
	}
	s := &Session{sess: mine, done: make(chan struct{}), ready: make(chan struct{})}
	var once sync.Once
	ready := func() { once.Do(func() { close(s.ready) }) }
	go func() {
		defer close(s.done)
		defer ready()
		defer mine.Close()
		readSession(mine, record, ask, ready)
	}()
	return s, nil
}

// send sends one control message, starting the process first if needed
// and once more if it has died.
func (r *Runner) send(b []byte, fds ...*os.File) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for try := 0; try < 2; try++ {
		if r.ctl == nil {
			if err = r.connect(); err != nil {
				return err
			}
		}
		if err = sendMessage(r.ctl, b, fds...); err == nil {
			return nil
		}
		r.ctl.Close()
		r.ctl = nil
	}
	return fmt.Errorf("egress proxy: %w", err)
}

// connect connects to the proxy unit's socket where it exists, and
// starts the proxy process otherwise. A socket that exists but refuses
// is an error: the code service under systemd has no network to give a
// process of its own.
func (r *Runner) connect() error {
	if r.Socket != "" {
		if _, err := os.Lstat(r.Socket); err == nil {
			ctl, err := dialControl(r.Socket)
			if err != nil {
				return fmt.Errorf("connect to the egress proxy at %s: %w", r.Socket, err)
			}
			r.ctl = ctl
			return nil
		}
	}
	if err := r.start(); err != nil {
		return fmt.Errorf("start the egress proxy: %w", err)
	}
	return nil
}

// start starts the proxy process with the control socket as descriptor 3.
func (r *Runner) start() error {
	if len(r.Argv) == 0 {
		return errors.New("no proxy command")
	}
	mine, theirs, err := seqpacketPair()
	if err != nil {
		return err
	}
	defer theirs.Close()
	cmd := exec.Command(r.Argv[0], r.Argv[1:]...)
	cmd.Env = []string{}
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		mine.Close()
		return err
	}
	go cmd.Wait() // it exits when the control socket closes
	r.ctl, r.proc = mine, cmd.Process
	return nil
}

// Pid returns the proxy process's id, 0 when none was started (or the
// proxy is systemd's).
func (r *Runner) Pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return 0
	}
	return r.proc.Pid
}

// Close ends the proxy process: its control socket closes and it exits,
// cutting every session.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctl != nil {
		r.ctl.Close()
		r.ctl = nil
	}
	return nil
}

// Wait waits for the session's records, at most grace; then it cuts the
// connections left (shutting its end down, which the proxy process reads
// as the end) and waits, as long again at most, for their records.
func (s *Session) Wait(grace time.Duration) {
	select {
	case <-s.done:
		return
	case <-time.After(grace):
	}
	shutdownWrite(s.sess)
	select {
	case <-s.done:
	case <-time.After(grace):
		s.sess.Close()
	}
}

// WaitOpened waits, at most grace, until the proxy process has said that
// the session serves, or has ended it (a config it refused ends it with a
// deny record, given to record first). It is all a command that made no
// connection waits for: the proxy has no other record to send.
func (s *Session) WaitOpened(grace time.Duration) {
	select {
	case <-s.ready:
	case <-time.After(grace):
	}
}
