// Package codeexec runs one command the way the code and shell services
// need: in a new session and process group, with a deadline that kills the
// whole group (and, through the sandbox helper, every descendant), stdin
// fed from the request, stdout and stderr each captured up to a cap.
package codeexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// DefaultMaxOutput caps each of stdout and stderr (1 MiB).
const DefaultMaxOutput = 1 << 20

// Command is what to run.
type Command struct {
	Path string   // the program, resolved to an absolute path
	Args []string // argv, Args[0] included
	Dir  string
	Env  []string
	// Stdin is fed to the command, then closed; nil means /dev/null.
	Stdin     []byte
	Timeout   time.Duration // 0: no deadline
	MaxOutput int           // per stream; 0: DefaultMaxOutput
	// Grace is how long the command has after SIGTERM before SIGKILL
	// (default 500ms).
	Grace time.Duration
	// OnOutput, if set, receives output as it arrives ("stdout"/"stderr"),
	// within the cap.
	OnOutput func(stream string, p []byte)
	// Pool, if set, runs the command in a helper taken from it, which
	// reads Request (core/sandbox.Request: the helper's arguments, Env,
	// Dir and whether there is Stdin) instead of being started with them;
	// Path then only names the command in errors.
	Pool    *Pool
	Request []byte
	// Kind, when set, lets the helper that ran the command run the next
	// command of the same Kind from the Pool, if it says it can
	// (linux/sandbox: no process left, no network…): commands of one
	// kind must be alike in everything a helper keeps between them
	// (core/sandbox.Spec.ReuseKey) and come from callers that may share
	// it. Empty: the helper runs this command alone.
	Kind string
	// Egress, if set, is called with the pool's end of the helper's
	// descriptor 5 when the helper takes the request: the helper passes
	// each connection the command makes to its forwarder over it
	// (linux/sandbox, docs/network.md). Egress owns the file; it ends
	// when the helper exits. Without a Pool it is not called.
	Egress func(*os.File)
}

// Result is what happened.
type Result struct {
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	ExitCode   int    `json:"exit_code"`
	Signal     string `json:"signal,omitempty"`
	TimedOut   bool   `json:"timed_out"`
	Truncated  bool   `json:"truncated"`
	DurationMS int64  `json:"duration_ms"`
	// Quarantined are the files the command left that the owner's tools
	// would run, renamed out of their way (core/autorun), by the code
	// service after the command.
	Quarantined []string `json:"quarantined,omitempty"`
	// NoConnections is set when the helper reported that the command,
	// given network (Command.Egress), made no connection: the proxy then
	// has no record to send, and none need be waited for. Unset when it
	// made some, or when the helper could not say.
	NoConnections bool `json:"-"`
}

// Run runs c and waits for it and its process group. It fails only when the
// command cannot start; a non-zero exit, a signal or a timeout are results.
func Run(ctx context.Context, c Command) (*Result, error) {
	if c.MaxOutput <= 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	if c.Grace <= 0 {
		c.Grace = 500 * time.Millisecond
	}
	stdout := &capWriter{max: c.MaxOutput, stream: "stdout", on: c.OnOutput}
	stderr := &capWriter{max: c.MaxOutput, stream: "stderr", on: c.OnOutput}
	start := time.Now()
	p, err := c.start(stdout, stderr)
	if err != nil {
		return nil, startError(c, err)
	}
	pgid := p.pid
	res := &Result{}
	var timeout <-chan time.Time
	if c.Timeout > 0 {
		t := time.NewTimer(c.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	stopped := true
	select {
	case <-p.done:
		stopped = false
		// The leader is done; anything left in its group is a stray
		// background process and goes with it — unless the leader is a
		// helper waiting for its next command, which it reports only once
		// every process under it is gone.
		if p.again == nil {
			killGroup(pgid, syscall.SIGKILL)
		}
	case <-timeout:
		res.TimedOut = true
		stop(pgid, p.done, c.Grace)
	case <-ctx.Done():
		stop(pgid, p.done, c.Grace)
	}
	if c.Pool != nil {
		again := p.again
		if again != nil && stopped {
			again.discard() // signalled meanwhile
			again = nil
		}
		c.Pool.finish(c.Kind, again)
		c.Pool.refill() // now that the command no longer needs the CPU
	}
	res.DurationMS = time.Since(start).Milliseconds()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.truncated || stderr.truncated
	res.ExitCode, res.Signal = p.exit.code, p.exit.signal
	res.NoConnections = p.exit.noConnections
	return res, nil
}

// proc is a started command: its process group leader, and done, closed
// once it has finished and its output has been read, when exit holds its
// status.
type proc struct {
	pid  int
	done chan struct{}
	exit exitInfo
	// again is the helper that ran the command when it waits for another
	// (set before done closes).
	again *warm
}

// exitInfo is how a command ended: a shell-style code (128+n for signal
// n) and the signal's name.
type exitInfo struct {
	code   int
	signal string
	// noConnections: the helper's forwarder passed no connection.
	noConnections bool
}

// start starts the command, in its own session, writing to stdout and
// stderr: a new process, or a warm helper from c.Pool.
func (c Command) start(stdout, stderr io.Writer) (*proc, error) {
	// Descendants that keep the pipes open must not hold the answer
	// forever.
	delay := c.Grace + time.Second
	if c.Pool != nil {
		w, j, err := c.startWarm(stdout, stderr)
		if err != nil {
			return nil, err
		}
		p := &proc{pid: w.cmd.Process.Pid, done: make(chan struct{})}
		go func() {
			exit, again := w.wait(j, delay)
			if again {
				p.again = w
			}
			p.exit = exit
			close(p.done)
		}()
		return p, nil
	}
	cmd := exec.Command(c.Path)
	cmd.Args = c.Args
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = delay
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { cmd.Wait(); p.exit = exitOf(cmd.ProcessState); close(p.done) }()
	return p, nil
}

// startWarm hands c.Request to a helper from c.Pool, with the command's
// stdio. A helper that died while it waited is replaced once: one found
// dead before the request is sent, or whose control socket is closed.
func (c Command) startWarm(stdout, stderr io.Writer) (*warm, *job, error) {
	for try := 0; ; try++ {
		w, err := c.Pool.take(c.Kind)
		if err != nil {
			return nil, nil, err
		}
		var j *job
		var stdin *os.File
		if exited(w.cmd.Process.Pid) {
			err = errHelperGone
		} else {
			j, stdin, err = w.send(c.Request, c.Stdin != nil, stdout, stderr)
		}
		if err != nil {
			go w.discard()
			if try == 0 {
				continue
			}
			return nil, nil, fmt.Errorf("%w: %v", errHelperGone, err)
		}
		w.kind = c.Kind
		c.Pool.running(c.Kind)
		if c.Egress != nil && w.egress != nil {
			c.Egress(w.egress)
		} else if w.egress != nil {
			w.egress.Close() // no network: the helper's end finds no one
		}
		w.egress = nil
		if stdin != nil {
			go feed(stdin, c.Stdin)
		}
		return w, j, nil
	}
}

// stop ends the command: SIGTERM to the leader only (the sandbox helper,
// a child subreaper, then kills every descendant, even those that left the
// group, and exits), and SIGKILL to the whole group after grace.
func stop(pgid int, done <-chan struct{}, grace time.Duration) {
	syscall.Kill(pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		killGroup(pgid, syscall.SIGKILL)
		return
	case <-t.C:
	}
	killGroup(pgid, syscall.SIGKILL)
	<-done
}

func killGroup(pgid int, sig syscall.Signal) {
	if pgid > 0 {
		syscall.Kill(-pgid, sig)
	}
}

// exitOf returns how a process that was waited for ended.
func exitOf(ps *os.ProcessState) exitInfo {
	if ps == nil {
		return exitInfo{code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitInfo{code: 128 + int(ws.Signal()), signal: signalName(ws.Signal())}
	}
	return exitInfo{code: ps.ExitCode()}
}

func startError(c Command, err error) error {
	hint := "check that the program exists and is executable inside the sandbox"
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		hint = "no program " + c.Path + "; give an absolute path or one on the sandbox PATH"
	}
	if errors.Is(err, os.ErrNotExist) && c.Dir != "" {
		if _, serr := os.Stat(c.Dir); serr != nil {
			hint = "the working directory " + c.Dir + " does not exist"
		}
	}
	return errs.E("start "+c.Path, errs.Failed, errs.ReasonStartFailed, errs.Hint(hint), err)
}

// capWriter keeps the first max bytes and counts the rest.
type capWriter struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
	stream    string
	on        func(string, []byte)
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - w.buf.Len()
	keep := p
	if len(keep) > room {
		keep = keep[:max(room, 0)]
		w.truncated = true
	}
	w.buf.Write(keep)
	if w.on != nil && len(keep) > 0 {
		w.on(w.stream, keep)
	}
	return len(p), nil
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

var _ io.Writer = (*capWriter)(nil)
