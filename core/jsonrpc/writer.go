package jsonrpc

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ErrWriterClosed is returned by Writer.Send after Close or a failed write.
var ErrWriterClosed = errors.New("jsonrpc: writer closed")

// ErrPeerNotReading is the error a Writer records when its queue exceeds
// its bound: the peer has stopped reading.
var ErrPeerNotReading = errors.New("jsonrpc: peer is not reading")

// Writer coalesces outgoing messages on a connection: Send appends a
// message and a newline to a queue and wakes the writer goroutine (Run),
// which writes everything queued in one call. Under load this turns many
// small responses into one write(2), which is what keeps a router's cost
// per request low.
type Writer struct {
	c        net.Conn
	timeout  time.Duration
	maxQueue int
	keepOpen bool

	mu      sync.Mutex
	buf     []byte
	spare   []byte
	err     error
	closing bool
	flush   bool
	wake    chan struct{}
	done    chan struct{}
}

// NewWriter returns a Writer for c. Each write must finish within timeout
// (0: no deadline); more than maxQueue queued bytes means the peer is not
// reading, and the connection is closed.
func NewWriter(c net.Conn, timeout time.Duration, maxQueue int) *Writer {
	return &Writer{c: c, timeout: timeout, maxQueue: maxQueue,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// KeepOpen makes a failed write leave the connection open, so a reader
// can still drain what the peer sent before it closed (a client reading a
// refusal). Call it before Run.
func (w *Writer) KeepOpen() { w.keepOpen = true }

// Send queues msg (without its newline).
func (w *Writer) Send(msg []byte) error {
	w.mu.Lock()
	if w.err != nil || w.closing {
		w.mu.Unlock()
		return ErrWriterClosed
	}
	if w.maxQueue > 0 && len(w.buf)+len(msg) > w.maxQueue {
		w.err = ErrPeerNotReading
		w.mu.Unlock()
		w.c.Close()
		return ErrPeerNotReading
	}
	w.buf = append(w.buf, msg...)
	w.buf = append(w.buf, '\n')
	w.mu.Unlock()
	w.signal()
	return nil
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run writes queued messages until Close, or until a write fails (the
// deadline included); it then closes the connection and returns the error
// (nil after Close).
func (w *Writer) Run() error {
	defer close(w.done)
	for {
		<-w.wake
		w.mu.Lock()
		out := w.buf
		w.buf = w.spare[:0]
		closing, flush := w.closing, w.flush
		w.mu.Unlock()
		if len(out) > 0 && (!closing || flush) {
			if w.timeout > 0 {
				w.c.SetWriteDeadline(time.Now().Add(w.timeout))
			}
			if _, err := w.c.Write(out); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				if !w.keepOpen {
					w.c.Close()
				}
				return err
			}
		}
		w.mu.Lock()
		w.spare = out[:0]
		if w.closing && len(w.buf) == 0 {
			w.mu.Unlock()
			w.c.Close()
			return nil
		}
		w.mu.Unlock()
	}
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
