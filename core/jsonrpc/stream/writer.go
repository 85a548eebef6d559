package stream

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrWriterClosed is returned by Writer.Send after Close or a failed write.
var ErrWriterClosed = errors.New("stream: writer closed")

// ErrPeerNotReading is the error a Writer records when its queue exceeds
// its bound: the peer has stopped reading.
var ErrPeerNotReading = errors.New("stream: peer is not reading")

// Writer writes messages to a connection without ever blocking the
// sender on a slow peer, and with as few write(2) calls as it can:
//
//   - When nobody is writing, Send tries one non-blocking write itself.
//     On an idle connection that is the whole story: no goroutine hand-off,
//     no wake-up, one system call.
//   - When that write is partial, or another write is under way, the
//     message joins a queue that the writer goroutine (Run) drains with
//     blocking writes under a deadline, many messages per call.
//
// Under load this turns many small responses into one write, and a peer
// that stops reading costs its own connection a deadline, never anyone
// else a stall.
type Writer struct {
	c        net.Conn
	raw      syscall.RawConn // nil when c cannot be written non-blockingly, or in Batch mode
	rc       syscall.RawConn // c's, for Run's writes; nil when c has none
	uc       *net.UnixConn   // nil when c cannot pass descriptors
	timeout  time.Duration
	maxQueue int
	keepOpen bool

	mu      sync.Mutex
	buf     []byte // queued, not yet written
	spare   []byte
	busy    bool // a sender or Run owns the write side
	runOwns bool // ... and it is Run
	err     error
	closing bool
	flush   bool
	wake    chan struct{}
	done    chan struct{}
	queued  int64     // bytes ever queued
	written int64     // bytes ever written
	fds     []fdBatch // descriptors not yet passed, in message order
	before  func() error

	try    tryState // the write side owner's tryWrite, or Run's write
	tryFn  func(fd uintptr) bool
	waitFn func(fd uintptr) bool
}

// NewWriter returns a Writer for c. Each blocking write must finish within
// timeout (0: no deadline); more than maxQueue queued bytes (0: no bound)
// means the peer is not reading, and the connection is closed.
func NewWriter(c net.Conn, timeout time.Duration, maxQueue int) *Writer {
	w := &Writer{c: c, timeout: timeout, maxQueue: maxQueue,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			w.raw, w.rc, w.tryFn = raw, raw, w.tryOnce
			w.waitFn = w.writeOrWait
		}
	}
	switch uc := c.(type) {
	case *net.UnixConn:
		w.uc = uc
	case *FDConn:
		w.uc = uc.UnixConn
	case *LoopConn:
		w.uc, _ = uc.Conn.(*net.UnixConn)
	}
	return w
}

// Batch makes every write go through Run: senders never write
// themselves, so messages sent close together share one write(2). Worth it
// on a connection many goroutines feed at once (the router's connections
// to a service), where a write per message would cost more than the
// hand-off. Call it before Run.
func (w *Writer) Batch() { w.raw = nil }

// BeforeWrite makes Run call f after it takes queued messages and before
// it writes them. If f fails, those messages are not written and the
// Writer fails as on a write error (the connection is closed). The router
// flushes the audit log there: a call reaches its service only after its
// record is in the file. Only in Batch mode, where Run does every write;
// call it before Run.
func (w *Writer) BeforeWrite(f func() error) { w.before = f }

// KeepOpen makes a failed write leave the connection open, so a reader
// can still drain what the peer sent before it closed (a client reading a
// refusal). Call it before Run.
func (w *Writer) KeepOpen() { w.keepOpen = true }

// Send writes msg (without its newline), or queues it.
func (w *Writer) Send(msg []byte) error { return w.send(msg, nil) }

func (w *Writer) send(msg []byte, files []*os.File) error {
	w.mu.Lock()
	if w.err != nil || w.closing {
		w.mu.Unlock()
		closeAll(files)
		return ErrWriterClosed
	}
	if w.maxQueue > 0 && len(w.buf)+len(msg) > w.maxQueue {
		w.err = ErrPeerNotReading
		w.closeFDsLocked()
		w.mu.Unlock()
		closeAll(files)
		w.c.Close()
		return ErrPeerNotReading
	}
	if files != nil {
		w.fds = append(w.fds, fdBatch{at: w.queued, files: files})
	}
	w.buf = append(w.buf, msg...)
	w.buf = append(w.buf, '\n')
	w.queued += int64(len(msg) + 1)
	if w.busy {
		w.mu.Unlock()
		return nil // the owner of the write side will write it
	}
	w.busy = true
	if w.raw == nil {
		w.runOwns = true
		w.mu.Unlock()
		w.signal()
		return nil
	}
	for tries := 0; tries < 4 && len(w.buf) > 0; tries++ {
		out, files, batches := w.takeLocked()
		w.mu.Unlock()
		n, err := w.tryWrite(out, files)
		w.mu.Lock()
		w.wroteLocked(n, batches)
		if err != nil {
			w.failLocked(err)
			w.mu.Unlock()
			return err
		}
		if n < len(out) { // the socket is full: Run finishes the job
			w.buf = append(out[n:], w.buf...)
			break
		}
		w.spare = out[:0]
	}
	if len(w.buf) == 0 {
		w.busy = false
		closing := w.closing
		w.mu.Unlock()
		if closing {
			w.signal() // Run was waiting for us to finish
		}
		return nil
	}
	w.runOwns = true
	w.mu.Unlock()
	w.signal() // hand the write side to Run
	return nil
}

// takeLocked takes the queue for one write, with the descriptors that go
// with it; the write may carry less than the whole queue when there are
// more descriptors than one write may pass. w.mu is held.
func (w *Writer) takeLocked() (out []byte, files []*os.File, batches int) {
	out = w.buf
	w.buf = w.spare[:0]
	if len(w.fds) == 0 {
		return out, nil, 0
	}
	files, batches, limit := w.fdPlan(out)
	if limit < len(out) {
		w.buf = append(w.buf, out[limit:]...)
		out = out[:limit]
	}
	return out, files, batches
}

// wroteLocked records that n bytes of a write went out: its descriptors
// went with the first of them. w.mu is held.
func (w *Writer) wroteLocked(n, batches int) {
	w.written += int64(n)
	if n > 0 && batches > 0 {
		w.passedLocked(batches)
	}
}

// tryWrite writes what the socket takes now, without waiting; files go
// with the first byte. Only the owner of the write side calls it, so its
// state lives in w.try and the callback is made once (NewWriter): a
// closure per write would cost allocations on every message.
func (w *Writer) tryWrite(b []byte, files []*os.File) (int, error) {
	w.try = tryState{b: b, ctl: oob(files)}
	err := w.raw.Write(w.tryFn)
	n, werr := w.try.n, w.try.err
	w.try = tryState{}
	if werr != nil {
		return n, werr
	}
	return n, err
}

// tryState is one tryWrite's: what to write, and how far it got.
type tryState struct {
	b   []byte
	ctl []byte // the descriptors' control message, until the first byte is written
	n   int
	err error
}

// tryOnce is tryWrite's callback: it writes until the socket is full.
func (w *Writer) tryOnce(fd uintptr) bool {
	t := &w.try
	for t.n < len(t.b) {
		var m int
		var e error
		if t.ctl != nil {
			m, e = unix.SendmsgN(int(fd), t.b, t.ctl, nil, 0)
		} else {
			m, e = rawWrite(int(fd), t.b[t.n:])
		}
		if m > 0 {
			t.n += m
			t.ctl = nil
		}
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return true
		case e != nil:
			t.err = e
			return true
		case m == 0:
			return true
		}
	}
	return true
}

// writeOrWait is blockingWrite's callback: it writes until the socket is
// full, then asks the poller to wait (false) unless all is written or the
// write failed.
func (w *Writer) writeOrWait(fd uintptr) bool {
	w.tryOnce(fd)
	t := &w.try
	return t.err != nil || t.n >= len(t.b)
}

// blockingWrite writes b whole, under the write deadline; files go with
// the first byte. Without files it writes as tryWrite does (rawWrite,
// outside the scheduler's system-call state), waiting for the socket to
// drain through the poller when it is full.
func (w *Writer) blockingWrite(b []byte, files []*os.File) (int, error) {
	if len(files) == 0 {
		if w.rc == nil {
			return w.c.Write(b)
		}
		w.try = tryState{b: b}
		err := w.rc.Write(w.waitFn)
		n, werr := w.try.n, w.try.err
		w.try = tryState{}
		if werr != nil {
			return n, werr
		}
		return n, err
	}
	n, _, err := w.uc.WriteMsgUnix(b, oob(files), nil)
	if err == nil && n < len(b) {
		var m int
		m, err = w.c.Write(b[n:])
		n += m
	}
	return n, err
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// failLocked records a write error and closes the connection (unless
// KeepOpen). w.mu is held.
func (w *Writer) failLocked(err error) {
	w.err = err
	w.closeFDsLocked()
	w.busy, w.runOwns = false, false
	if !w.keepOpen {
		w.c.Close()
	}
	w.signal() // let Run notice and return
}

// Run drains the queue whenever the write side is handed to it, until
// Close or a failed write (the deadline included). It then closes the
// connection and returns the error (nil after Close).
func (w *Writer) Run() error {
	defer close(w.done)
	defer func() {
		w.mu.Lock()
		w.closeFDsLocked()
		w.mu.Unlock()
	}()
	for {
		<-w.wake
		if w.raw == nil {
			// Batch mode: let the goroutines that are ready to run now
			// (callers whose requests just arrived) queue theirs before
			// this write takes the queue.
			runtime.Gosched()
		}
		w.mu.Lock()
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if w.runOwns {
			if err := w.drainLocked(); err != nil {
				w.mu.Unlock()
				return err
			}
			w.busy, w.runOwns = false, false
		}
		if w.closing && !w.busy {
			w.mu.Unlock()
			w.c.Close()
			return nil
		}
		w.mu.Unlock()
	}
}

// drainLocked writes the queue with blocking writes until it is empty.
// w.mu is held, and released around each write.
func (w *Writer) drainLocked() error {
	for len(w.buf) > 0 {
		if w.closing && !w.flush {
			w.buf = w.buf[:0]
			w.closeFDsLocked()
			return nil
		}
		out, files, batches := w.takeLocked()
		w.mu.Unlock()
		if w.before != nil {
			if err := w.before(); err != nil {
				w.mu.Lock() // failLocked closes the descriptors still queued

				w.failLocked(err)
				return err
			}
		}
		if w.timeout > 0 {
			w.c.SetWriteDeadline(time.Now().Add(w.timeout))
		}
		n, err := w.blockingWrite(out, files)
		w.mu.Lock()
		w.wroteLocked(n, batches)
		if err != nil {
			w.failLocked(err)
			return err
		}
		w.spare = out[:0]
	}
	return nil
}

// Close stops the writer. With flush, what is queued is written first (Run
// closes the connection after); without, the connection closes now.
func (w *Writer) Close(flush bool) {
	w.mu.Lock()
	w.closing = true
	w.flush = flush
	w.mu.Unlock()
	if !flush {
		w.c.Close()
	}
	w.signal()
}

// Done is closed when Run has returned.
func (w *Writer) Done() <-chan struct{} { return w.done }
