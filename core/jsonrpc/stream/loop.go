package stream

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// LoopConn is a connection read by its ReadLoop, which on Linux saves a
// system call per burst of input on a Unix socket.
//
// A loop of conn.Read calls, after a read that emptied the socket, makes
// another read(2) that finds nothing (EAGAIN) before it waits for the
// poller: the runtime forgets, at the start of every Read, that the socket
// became readable. ReadLoop instead stays inside one RawConn.Read: after a
// read that returned less than it asked for (the socket was empty at that
// moment) it waits for the poller's next readiness event without reading
// again. The poller is edge-triggered (EPOLLET): data that arrives after
// that read raises a new event, so no input is missed, and an event for
// bytes the read already took costs one empty read, as before. For a
// client that sends a request and waits for its answer, that is one read
// per request instead of two.
//
// A shutdown is the exception: a read that returns data says nothing of a
// shutdown queued behind it, and the runtime may have merged the
// shutdown's readiness event with the data's. So every LoopConn is also
// watched for the peer's shutdown on an epoll set of its own, for
// EPOLLRDHUP alone (data does not wake it): when the peer shuts down, the
// watcher shuts down the reading side of this end too, which raises a
// fresh readiness event for the runtime's poller; the loop wakes, reads,
// and finds the end of the stream. (The peer sends nothing more after its
// shutdown, and bytes already queued stay readable, so this end's
// shutdown loses nothing.)
//
// Messages are handled inside the runtime's read callback, which holds a
// reference to the descriptor: a Close made meanwhile (by the handler
// itself, or by a writer that failed) would wait for the callback to
// return. So Close, while ReadLoop is inside it, only asks the loop to
// close the connection (and wakes it with a past read deadline); the loop
// closes it on the way out. Everything that may close the connection —
// writers included — must therefore be given the LoopConn, not the
// connection it wraps.
type LoopConn struct {
	net.Conn
	rc    syscall.RawConn // nil: read with an ordinary loop
	watch uint32          // its id in the shutdown watcher
	src   edgeSource

	mu       sync.Mutex
	reading  bool        // ReadLoop is inside the callback
	closed   bool        // the connection is closed
	closeReq atomic.Bool // Close came while reading
}

// NewLoopConn wraps c. Only a plain *net.UnixConn on Linux is read inside
// the poller's callback; any other connection (a descriptor-passing
// FDConn, a pipe, a WebSocket adapter, any conn on another system) is read
// with an ordinary loop.
func NewLoopConn(c net.Conn) *LoopConn {
	lc := &LoopConn{Conn: c}
	if uc, ok := c.(*net.UnixConn); ok {
		if rc, err := uc.SyscallConn(); err == nil {
			if id, ok := watchShutdown(rc, &lc.src.shut); ok {
				lc.rc, lc.watch = rc, id
			}
		}
	}
	return lc
}

// SyscallConn returns the wrapped connection's, for non-blocking writes.
func (c *LoopConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// PeerClosed reports whether the peer has closed the connection
// altogether, not merely shut down its writing side: nobody is left to
// read an answer. It is false where that cannot be told.
func (c *LoopConn) PeerClosed() bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	rc.Control(func(fd uintptr) { gone = hungUp(fd) })
	return gone
}

// Close closes the connection, or, while ReadLoop is handling a message,
// has it closed as soon as ReadLoop returns. (Closing the descriptor also
// takes it out of the shutdown watcher's set.)
func (c *LoopConn) Close() error {
	c.mu.Lock()
	if c.closed || c.closeReq.Load() {
		c.mu.Unlock()
		return nil
	}
	if c.reading {
		c.closeReq.Store(true)
		c.mu.Unlock()
		c.Conn.SetReadDeadline(time.Unix(1, 0)) // wake a waiting loop
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	unwatch(c.watch)
	return c.Conn.Close()
}

// ReadLoop reads messages (at most max bytes each) and calls step with
// each result of Reader.Next — a message, ErrTooLarge, a deadline, the end
// of the stream, net.ErrClosed — until step returns true.
func (c *LoopConn) ReadLoop(max int, step func(msg []byte, err error) (stop bool)) {
	if c.rc == nil {
		r := NewReader(c.Conn, max)
		for !step(r.Next()) {
		}
		return
	}
	src := &c.src
	r := NewReader(src, max)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			step(nil, net.ErrClosed)
			return
		}
		c.reading = true
		c.mu.Unlock()
		stopped := false
		src.drained = false // entering RawConn.Read forgets readiness: read first
		err := c.rc.Read(func(fd uintptr) bool {
			src.fd = int(fd)
			for {
				msg, err := r.Next()
				if err == errWouldBlock { // returned as it is, through bufio and Reader
					return c.closeReq.Load() // else wait for the next event
				}
				if step(msg, err) {
					stopped = true
					return true
				}
				if c.closeReq.Load() {
					return true
				}
			}
		})
		c.mu.Lock()
		c.reading = false
		closing := c.closeReq.Load()
		c.closed = c.closed || closing
		c.mu.Unlock()
		if closing {
			unwatch(c.watch)
			c.Conn.Close()
			if !stopped {
				step(nil, net.ErrClosed)
			}
			return
		}
		if stopped || step(nil, err) {
			return
		}
	}
}

// errWouldBlock ends a read inside ReadLoop's callback: nothing to read
// until the poller says so. Reader keeps a line it cut short for the next
// call, as for any passing error.
var errWouldBlock = errors.New("stream: would block")

// edgeSource reads a socket descriptor for ReadLoop, remembering whether
// the last read emptied it.
type edgeSource struct {
	fd      int
	drained bool        // the last read returned less than asked: wait, don't read
	shut    atomic.Bool // the peer shut down (the watcher): read, don't wait
	calls   uint64      // read(2) calls made
}

func (s *edgeSource) Read(p []byte) (int, error) {
	if s.drained {
		s.drained = false
		if !s.shut.Load() {
			return 0, errWouldBlock
		}
	}
	for {
		n, err := rawRead(s.fd, p)
		s.calls++
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, errWouldBlock
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		s.drained = n < len(p)
		return n, nil
	}
}
