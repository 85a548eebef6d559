package codeexec

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Pool keeps helper processes started ahead of need, so that a command
// does not wait for its helper's own start (a Go binary: milliseconds),
// and takes back a helper that has run a command and can run another of
// the same kind (Command.Kind), so that a burst of commands does not
// start a Go process each.
//
// A helper (core/sandbox.Warm) runs in a new session with /dev/null on
// its stdio and one end of a Unix stream socket as descriptor 3, its
// control socket (docs/internals.md): it writes one ready byte there
// once it waits for a request; Run sends each request with the command's
// stdio (SCM_RIGHTS), and the helper answers with the exit code and
// whether it takes another request.
//
// A Pool is safe for concurrent use. Each Run takes, in this order: a
// helper that ran a command of its kind and waits for another, the
// oldest fresh helper waiting, or a new one started for it. A call that
// must start one queues: it is handed the first helper of its kind that
// finishes a command, or may start its own once none of its kind is
// running or none has come back for about as long as a start takes
// (dispatch), and at most max(2, CPUs) helpers start at once (a Go start
// is CPU time, what a burst of commands is bound by). A long command
// never holds up another for longer than that: only starts are limited.
// Fresh helpers are replaced in the background once a command has
// finished, so that the next start does not compete for the CPU with
// the command it would serve.
type Pool struct {
	argv []string
	opts PoolOptions

	mu       sync.Mutex
	idle     []*warm   // fresh, ready, oldest first
	used     []*warm   // waiting for another command of their kind, oldest first
	queue    []*waiter // calls waiting for a helper or a start
	starts   int       // how many may be starting at once (maxStarting)
	starting int       // helpers started and not yet ready
	filling  int       // of which refill's
	// busy counts the helpers running a command of each kind, back is
	// when one of a kind last came back, startTook how long starts took
	// lately, and timer is armed for the first queued call's turn to
	// start a helper (dispatch).
	busy      map[string]int
	back      map[string]time.Time
	startTook time.Duration
	timer     *time.Timer
	closed    bool
	plain     bool // a start with opts.Attr failed where one without worked
	fellBack  bool // a start with opts.Attr failed where one with opts.Fallback worked
}

// maxStarting is how many helpers may be starting at once: a Go start
// is CPU-bound, and more at once only share the CPUs.
var maxStarting = max(2, runtime.NumCPU())

// keepUsed is how many helpers that ran a command the pool keeps waiting
// for another (the oldest beyond it exit): enough for a burst's pace to
// carry over to the next, ~1 MB each.
func (p *Pool) keepUsed() int { return p.opts.Size + p.starts }

// waiter is a queued call: got receives a helper, or nil when the call
// may start one itself (a start it holds).
type waiter struct {
	kind  string
	since time.Time // queued
	got   chan *warm
}

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Size is how many fresh helpers are kept waiting; 0 means 1.
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

// warm is one started helper.
type warm struct {
	cmd   *exec.Cmd
	ctl   *os.File      // the pool's end of its control socket
	ready chan struct{} // closed once its ready byte came (or it died)
	// egress is the pool's end of a stream socket pair whose other end
	// the helper has as descriptor 5: the only way out of its network
	// namespace (Command.Egress). Nil where none could be made, and
	// once a command took it.
	egress *os.File
	kind   string // of the command it ran; "" before the first
}

// job is one command's stdio in a helper: the pool's ends of its pipes.
type job struct {
	outputs [2]*os.File // read ends of stdout and stderr
	copied  sync.WaitGroup
}

// Status flags after the exit code (linux/sandbox reuse_linux.go).
const (
	statusAgain         = 1 << 0
	statusNoConnections = 1 << 1
)

// readyByte is what a helper writes once it waits for its first request.
const readyByte = 'R'

// NewPool returns a pool of helpers started as argv, and starts them.
func NewPool(argv []string, o PoolOptions) *Pool {
	if o.Size <= 0 {
		o.Size = 1
	}
	p := &Pool{argv: argv, opts: o, starts: maxStarting}
	p.refill()
	return p
}

// Close kills the waiting helpers; later Runs start helpers on the
// spot. It does not touch helpers already running commands.
func (p *Pool) Close() {
	p.mu.Lock()
	waiting := append(p.idle, p.used...)
	p.idle, p.used, p.closed = nil, nil, true
	p.mu.Unlock()
	for _, w := range waiting {
		w.discard()
	}
}

// take returns a helper for a command of kind (see Pool).
func (p *Pool) take(kind string) (*warm, error) {
	p.mu.Lock()
	if w := p.popUsed(kind); w != nil {
		p.mu.Unlock()
		return w, nil
	}
	if len(p.idle) > 0 {
		w := p.idle[0]
		p.idle = p.idle[1:]
		p.mu.Unlock()
		return w, nil
	}
	wt := &waiter{kind: kind, since: time.Now(), got: make(chan *warm, 1)}
	p.queue = append(p.queue, wt)
	p.dispatch()
	p.mu.Unlock()
	if w := <-wt.got; w != nil {
		return w, nil
	}
	return p.startCounted()
}

// popUsed returns the helper of kind that finished last, if one waits.
// p.mu is held.
func (p *Pool) popUsed(kind string) *warm {
	if kind == "" {
		return nil
	}
	for i := len(p.used) - 1; i >= 0; i-- {
		if w := p.used[i]; w.kind == kind {
			p.used = append(p.used[:i], p.used[i+1:]...)
			return w
		}
	}
	return nil
}

// running counts a helper that took a command of kind.
func (p *Pool) running(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy == nil {
		p.busy, p.back = map[string]int{}, map[string]time.Time{}
	}
	p.busy[kind]++
}

// finish ends a command of kind that running counted; w, when set, is
// its helper waiting for another: it goes to the first queued call of
// its kind, else among the used ones (the oldest beyond keepUsed exits).
func (p *Pool) finish(kind string, w *warm) {
	p.mu.Lock()
	if p.busy[kind] > 0 {
		p.busy[kind]--
	}
	if w == nil {
		p.dispatch() // a call of kind may start a helper if none of its kind runs now
	}
	if w == nil || p.closed || kind == "" {
		p.mu.Unlock()
		if w != nil {
			w.discard()
		}
		return
	}
	if p.back == nil {
		p.back = map[string]time.Time{}
	}
	p.back[kind] = time.Now()
	for i, wt := range p.queue {
		if wt.kind == kind {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			p.mu.Unlock()
			wt.got <- w
			return
		}
	}
	p.used = append(p.used, w)
	var old *warm
	if len(p.used) > p.keepUsed() {
		old, p.used = p.used[0], p.used[1:]
	}
	p.mu.Unlock()
	if old != nil {
		old.discard()
	}
}

// dispatch gives free starts to queued calls, first come first served,
// each once it may start a helper: when none of its kind is running a
// command (none would come back), or when none of its kind has come back
// for as long as a start takes (patience) — so that a burst of short
// commands is served by the helpers already running them, in turn, while
// calls behind long ones still get helpers of their own. Otherwise it
// arms p.timer for the first call's turn. p.mu is held.
func (p *Pool) dispatch() {
	for p.starting < p.starts && len(p.queue) > 0 {
		now, patience := time.Now(), p.patience()
		next, first := -1, time.Time{}
		for i, wt := range p.queue {
			at := wt.since
			if b := p.back[wt.kind]; b.After(at) {
				at = b
			}
			if wt.kind == "" || p.busy[wt.kind] == 0 {
				at = now
			} else {
				at = at.Add(patience)
			}
			if !at.After(now) {
				next = i
				break
			}
			if first.IsZero() || at.Before(first) {
				first = at
			}
		}
		if next < 0 {
			if p.timer == nil {
				p.timer = time.AfterFunc(first.Sub(now), func() {
					p.mu.Lock()
					defer p.mu.Unlock()
					p.timer = nil
					p.dispatch()
				})
			}
			return
		}
		wt := p.queue[next]
		p.queue = append(p.queue[:next], p.queue[next+1:]...)
		p.starting++
		wt.got <- nil // buffered: the call starts its own helper
	}
}

// patience is how long a queued call waits for a helper of its kind to
// come back before it may start one: about as long as a start takes,
// lately (an average of the last few starts, from the start to the
// helper's ready byte), at least 2 ms, at most 100 ms.
func (p *Pool) patience() time.Duration {
	if p.startTook == 0 {
		return 10 * time.Millisecond
	}
	return min(max(p.startTook, 2*time.Millisecond), 100*time.Millisecond)
}

// startCounted starts a helper for the calling command on a start
// already counted in p.starting, and frees the start once the helper is
// ready (or failed).
func (p *Pool) startCounted() (*warm, error) {
	t0 := time.Now()
	w, err := p.start()
	if err != nil {
		p.startDone(0)
		return nil, err
	}
	go func() { <-w.ready; p.startDone(time.Since(t0)) }()
	return w, nil
}

// startDone frees one start that took took (0: failed): for a queued
// call, else for refill.
func (p *Pool) startDone(took time.Duration) {
	p.mu.Lock()
	p.starting--
	if took > 0 {
		p.startTook = (3*p.startTook + took) / 4
		if p.startTook == 0 {
			p.startTook = took
		}
	}
	p.dispatch()
	idle := len(p.queue) == 0
	p.mu.Unlock()
	if idle {
		p.refill()
	}
}

// refill starts fresh helpers in the background until Size are waiting
// or starting, as far as free starts allow and no call is queued,
// unless the pool is closed.
func (p *Pool) refill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; !p.closed && len(p.idle)+p.filling < p.opts.Size && p.starting < p.starts && len(p.queue) == 0; p.filling++ {
		p.starting++
		go func() {
			t0 := time.Now()
			w, err := p.start()
			took := time.Duration(0)
			if err == nil {
				<-w.ready
				took = time.Since(t0)
			}
			p.mu.Lock()
			p.filling--
			var wt *waiter
			switch {
			case err != nil: // the next take starts one itself and reports the error
			case p.closed || len(p.idle) >= p.opts.Size && len(p.queue) == 0:
				go w.discard()
			case len(p.queue) > 0: // a fresh helper serves any kind
				wt, p.queue = p.queue[0], p.queue[1:]
			default:
				p.idle = append(p.idle, w)
			}
			p.mu.Unlock()
			if wt != nil {
				wt.got <- w
			}
			p.startDone(took)
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

// startWarm starts one helper: a new session, an environment of only
// GOMAXPROCS=1, "/" as its directory, /dev/null on 0, 1 and 2, its
// control socket on 3 and the egress socket on 5.
func startWarm(argv []string, sys *syscall.SysProcAttr) (*warm, error) {
	w := &warm{ready: make(chan struct{})}
	theirs, err := socketPair(&w.ctl, syscall.SOCK_STREAM)
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	egress, err := socketPair(&w.egress, syscall.SOCK_SEQPACKET)
	if err != nil {
		w.ctl.Close()
		return nil, err
	}
	defer egress.Close()
	if sys == nil {
		sys = &syscall.SysProcAttr{}
	}
	sys.Setsid = true
	w.cmd = exec.Command(argv[0])
	// GOMAXPROCS=1: the helper runs one command at a time; a Go program
	// told its processor count skips sizing itself from the CPU set and
	// cgroup limits and starts fewer threads (1.37 ms of CPU to start
	// instead of 1.87 ms here, what a burst of commands is bound by).
	// The helper replaces its whole environment with each request's.
	w.cmd.Args, w.cmd.Env, w.cmd.Dir = argv, []string{"GOMAXPROCS=1"}, "/"
	w.cmd.SysProcAttr = sys
	w.cmd.ExtraFiles = []*os.File{theirs, nil, egress} // 3, none on 4, 5
	if err := w.cmd.Start(); err != nil {
		w.ctl.Close()
		w.egress.Close()
		return nil, err
	}
	go w.awaitReady()
	return w, nil
}

// socketPair makes a Unix socket pair of typ and returns the helper's
// end; the pool's is pollable, so that a reader can be woken by Close.
func socketPair(mine **os.File, typ int) (*os.File, error) {
	syscall.ForkLock.RLock() // no start between the pair and close-on-exec (no SOCK_CLOEXEC on macOS)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, err
	}
	syscall.SetNonblock(fds[0], true)
	*mine = os.NewFile(uintptr(fds[0]), "sandbox-helper")
	return os.NewFile(uintptr(fds[1]), "sandbox-helper-end"), nil
}

// awaitReady reads the helper's ready byte; w.ready closes either way
// (a helper that died is found out by send or wait).
func (w *warm) awaitReady() {
	defer close(w.ready)
	var b [1]byte
	w.ctl.Read(b[:])
}

// send gives the helper its request, with new pipes for the command's
// stdout and stderr, copied to stdout and stderr, and for its stdin when
// withStdin is set: the returned file is the pool's end (to write stdin
// to and close). An error means the helper is gone.
func (w *warm) send(req []byte, withStdin bool, stdout, stderr io.Writer) (*job, *os.File, error) {
	j := &job{}
	var theirs []*os.File
	defer func() {
		for _, f := range theirs {
			f.Close()
		}
	}()
	for i := range j.outputs {
		r, wr, err := os.Pipe()
		if err != nil {
			j.closeOutputs()
			return nil, nil, err
		}
		j.outputs[i], theirs = r, append(theirs, wr)
	}
	var stdin *os.File
	if withStdin {
		r, wr, err := os.Pipe()
		if err != nil {
			j.closeOutputs()
			return nil, nil, err
		}
		stdin, theirs = wr, append(theirs, r)
	}
	fds := make([]int, len(theirs))
	for i, f := range theirs {
		fds[i] = int(f.Fd()) // Fd makes it blocking again: the command's stdio
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(req)))
	err := w.sendmsg(hdr[:], syscall.UnixRights(fds...))
	if err == nil {
		_, err = w.ctl.Write(req)
	}
	if err != nil {
		j.closeOutputs()
		if stdin != nil {
			stdin.Close()
		}
		return nil, nil, err
	}
	j.copied.Add(2)
	go j.copy(stdout, j.outputs[0])
	go j.copy(stderr, j.outputs[1])
	return j, stdin, nil
}

// sendmsg writes b with the control message oob on the control socket.
func (w *warm) sendmsg(b, oob []byte) error {
	rc, err := w.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendmsg(int(fd), b, oob, nil, 0)
		return serr != syscall.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

func (j *job) copy(to io.Writer, from *os.File) {
	defer j.copied.Done()
	io.Copy(to, from)
}

func (j *job) closeOutputs() {
	for _, f := range j.outputs {
		if f != nil {
			f.Close()
		}
	}
}

// wait returns how the command ended, and whether the helper takes
// another request. After each command a helper reports its exit code and
// status flags on the control socket (after closing its stdio: every
// process that could write there is gone): the code is taken from there,
// and a helper that does not take another is reaped in the background,
// without waiting for a Go process's exit (most of a millisecond). One
// that did not report (killed) is waited for. Either way the output is
// read to its end first, for at most delay: no descendant should outlive
// the helper's sweep, but one that kept a pipe open must not hold the
// answer.
func (w *warm) wait(j *job, delay time.Duration) (exitInfo, bool) {
	<-w.ready
	var b [2]byte // the code, the flags
	if _, err := io.ReadFull(w.ctl, b[:]); err == nil {
		j.drain(delay)
		again := b[1]&statusAgain != 0
		if !again {
			w.ctl.Close()
			go w.cmd.Wait()
		}
		return exitInfo{code: int(b[0]), noConnections: b[1]&statusNoConnections != 0}, again
	}
	w.ctl.Close()
	w.cmd.Wait()
	j.drain(delay)
	return exitOf(w.cmd.ProcessState), false
}

// drain waits up to delay for both outputs to reach their end, then
// closes them.
func (j *job) drain(delay time.Duration) {
	done := make(chan struct{})
	go func() { j.copied.Wait(); close(done) }()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		j.closeOutputs()
		<-done
	}
	j.closeOutputs()
}

// discard kills a helper not running a command, reaps it and closes
// its sockets.
func (w *warm) discard() {
	w.ctl.Close()
	w.cmd.Process.Kill()
	w.cmd.Wait()
	if w.egress != nil {
		w.egress.Close()
	}
}

// feed writes stdin to the command and closes the pipe; an error means
// the command stopped reading (the helper closes its end once the
// command is gone).
func feed(to *os.File, stdin []byte) {
	to.Write(stdin)
	to.Close()
}

// errHelperGone is a helper that died before it got its request.
var errHelperGone = errors.New("the warm sandbox helper exited before its request")
