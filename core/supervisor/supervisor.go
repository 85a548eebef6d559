// Package supervisor starts and keeps alive the service processes of a dev
// stack: one child per service, re-executed from the same binary, each
// reporting readiness on an inherited pipe; a child that dies is restarted
// with exponential backoff, and Status reports its state (the router's
// `services` method shows it).
//
// The readiness protocol is a pipe passed as fd 3 with CARAPACE_READY_FD=3
// in the environment: the child writes "READY=1\n" once it listens, then
// closes it (sd_notify's message, over a pipe instead of a datagram
// socket). docs/internals.md, "The ready pipe", writes it down.
package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// ReadyFDEnv names the environment variable that tells a child which fd to
// report readiness on.
const ReadyFDEnv = "CARAPACE_READY_FD"

// Child describes one supervised service process.
type Child struct {
	Name   string
	Path   string   // the executable
	Args   []string // argv, Args[0] included
	Env    []string
	Socket string // removed when the child stops
}

// Supervisor runs children.
type Supervisor struct {
	Log *slog.Logger
	// OnRestart is called after a child came back up (the router then
	// drops its pooled connections to the old process).
	OnRestart func(name string)
	// ReadyTimeout bounds how long a child may take to report ready
	// (default 15s).
	ReadyTimeout time.Duration

	mu       sync.Mutex
	children map[string]*proc
	wg       sync.WaitGroup
	stopping bool
}

// proc is one child's state.
type proc struct {
	c        Child
	mu       sync.Mutex
	cmd      *exec.Cmd
	up       bool
	since    time.Time
	restarts int
	lastErr  string
	firstUp  chan error // receives the first start's outcome
}

func (s *Supervisor) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Start starts every child and waits until each has reported ready (or
// failed its first start). Children are restarted until Stop.
func (s *Supervisor) Start(ctx context.Context, children []Child) error {
	s.mu.Lock()
	if s.children == nil {
		s.children = map[string]*proc{}
	}
	var procs []*proc
	for _, c := range children {
		p := &proc{c: c, firstUp: make(chan error, 1)}
		s.children[c.Name] = p
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		s.wg.Add(1)
		go s.keep(p)
	}
	var errList []error
	for _, p := range procs {
		select {
		case err := <-p.firstUp:
			if err != nil {
				errList = append(errList, fmt.Errorf("%s: %w", p.c.Name, err))
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(errList) > 0 {
		return errs.E("start services", errs.Unavailable, errs.ReasonServiceFailed,
			errs.Hint("see the service's log lines above; `carapace config check` validates the config"), errors.Join(errList...))
	}
	return nil
}

// keep runs p until the supervisor stops, restarting it with backoff.
func (s *Supervisor) keep(p *proc) {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	first := true
	for {
		started := time.Now()
		err := s.runOnce(p, first)
		if first {
			first = false
		}
		if s.isStopping() {
			return
		}
		p.mu.Lock()
		p.up = false
		p.restarts++
		if err != nil {
			p.lastErr = err.Error()
		}
		p.mu.Unlock()
		if time.Since(started) > 30*time.Second {
			backoff = 100 * time.Millisecond
		}
		s.log().Warn("service exited; restarting", "service", p.c.Name, "err", err, "in", backoff)
		time.Sleep(backoff)
		if backoff *= 2; backoff > 10*time.Second {
			backoff = 10 * time.Second
		}
		if s.isStopping() {
			return
		}
	}
}

// runOnce starts p, waits for readiness and then for exit.
func (s *Supervisor) runOnce(p *proc, first bool) error {
	rd, wr, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(p.c.Path)
	cmd.Args = p.c.Args
	cmd.Env = append(append([]string{}, p.c.Env...), ReadyFDEnv+"=3")
	cmd.Stdout = os.Stderr // services log to stderr; stdout is ours
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{wr}
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		rd.Close()
		wr.Close()
		if first {
			p.firstUp <- err
		}
		return err
	}
	wr.Close()
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() { ready <- waitReady(rd); rd.Close() }()
	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	select {
	case ok := <-ready:
		if !ok {
			err := <-exited
			err = fmt.Errorf("exited before it was ready: %v", err)
			if first {
				p.firstUp <- err
			}
			return err
		}
	case <-time.After(timeout):
		cmd.Process.Kill()
		err := fmt.Errorf("not ready after %s", timeout)
		<-exited
		if first {
			p.firstUp <- err
		}
		return err
	}
	p.mu.Lock()
	p.up, p.since = true, time.Now()
	p.mu.Unlock()
	if first {
		p.firstUp <- nil
	} else {
		s.log().Info("service restarted", "service", p.c.Name, "pid", cmd.Process.Pid)
		if s.OnRestart != nil {
			s.OnRestart(p.c.Name)
		}
	}
	return <-exited
}

// waitReady reports whether the child wrote READY=1 before closing.
func waitReady(rd *os.File) bool {
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "READY=1" {
			return true
		}
	}
	return false
}

func (s *Supervisor) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// Status is one child's run state.
type Status struct {
	Known    bool      // the supervisor runs a child of this name
	Up       bool      // it is serving
	PID      int       // its process, while up
	Since    time.Time // when it last came up, while up
	Restarts int
	Socket   string
	Err      string // why it last went down, while down
}

// Status reports the state of the child named name.
func (s *Supervisor) Status(name string) Status {
	s.mu.Lock()
	p := s.children[name]
	s.mu.Unlock()
	if p == nil {
		return Status{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := Status{Known: true, Up: p.up, Socket: p.c.Socket, Restarts: p.restarts, Err: p.lastErr}
	if p.up && p.cmd != nil && p.cmd.Process != nil {
		st.PID, st.Since, st.Err = p.cmd.Process.Pid, p.since, ""
	}
	return st
}

// Restart ends the running process of each child named (none: every
// child) with SIGTERM; each comes back as after a crash, reading its
// settings again at its start. It returns the names it signalled.
func (s *Supervisor) Restart(names ...string) []string {
	s.mu.Lock()
	var ps []*proc
	for name, p := range s.children {
		if len(names) == 0 || slices.Contains(names, name) {
			ps = append(ps, p)
		}
	}
	s.mu.Unlock()
	var done []string
	for _, p := range ps {
		p.mu.Lock()
		if p.up && p.cmd != nil && p.cmd.Process != nil && p.cmd.Process.Signal(syscall.SIGTERM) == nil {
			done = append(done, p.c.Name)
		}
		p.mu.Unlock()
	}
	slices.Sort(done)
	return done
}

// Stop sends SIGTERM to every child, SIGKILL to those still running after
// grace, waits for them, and removes their sockets.
func (s *Supervisor) Stop(grace time.Duration) {
	s.mu.Lock()
	s.stopping = true
	procs := make([]*proc, 0, len(s.children))
	for _, p := range s.children {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		p.signal(syscall.SIGTERM)
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		for _, p := range procs {
			p.signal(syscall.SIGKILL)
		}
		<-done
	}
	for _, p := range procs {
		if p.c.Socket != "" {
			os.Remove(p.c.Socket)
		}
	}
}

func (p *proc) signal(sig os.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(sig)
	}
}
