package xpcbridge

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/peer"
)

// endpoint is what a msgConn needs from the transport beneath it: send one
// message, and cancel the connection. Both are called with msgConn.mu held
// and never after detach.
type endpoint interface {
	send(msg []byte) error
	cancel()
}

// msgConn presents a message transport as a byte stream of lines: each line
// written is one message sent; each message received is one line read.
type msgConn struct {
	creds        peer.Creds
	local, peerA net.Addr

	mu   sync.Mutex
	ep   endpoint // nil once the transport has said it is gone
	gone bool     // the transport has said it is gone
	wbuf []byte   // the written bytes after the last newline

	in                 chan []byte   // received lines, in order
	eof                chan struct{} // closed when the transport is gone
	closed             chan struct{} // closed by Close
	eofOnce, closeOnce sync.Once

	rbuf []byte // the rest of the line being read
	rd   deadline
	wd   deadline
}

func newMsgConn(local, remote net.Addr, creds peer.Creds) *msgConn {
	return &msgConn{
		creds: creds, local: local, peerA: remote,
		in:     make(chan []byte, 64),
		eof:    make(chan struct{}),
		closed: make(chan struct{}),
	}
}

// attach sets the transport once it exists, unless it is gone already.
func (c *msgConn) attach(ep endpoint) {
	c.mu.Lock()
	if !c.gone {
		c.ep = ep
	}
	c.mu.Unlock()
}

// deliver queues one received message as a line. It blocks while the queue
// is full, which holds back the sender, and drops the message once the
// connection is closed.
func (c *msgConn) deliver(msg []byte) {
	line := make([]byte, len(msg)+1)
	copy(line, msg)
	line[len(msg)] = '\n'
	select {
	case c.in <- line:
	case <-c.closed:
	case <-c.eof:
	}
}

// detach records that the transport is gone: reads drain what was
// received and then return io.EOF, writes fail. After detach returns the
// transport is never used again.
func (c *msgConn) detach() {
	c.mu.Lock()
	c.ep, c.gone = nil, true
	c.mu.Unlock()
	c.eofOnce.Do(func() { close(c.eof) })
}

// Read reads from the received lines.
func (c *msgConn) Read(p []byte) (int, error) {
	if len(c.rbuf) == 0 {
		line, err := c.next()
		if err != nil {
			return 0, err
		}
		c.rbuf = line
	}
	n := copy(p, c.rbuf)
	c.rbuf = c.rbuf[n:]
	return n, nil
}

func (c *msgConn) next() ([]byte, error) {
	select {
	case <-c.closed:
		return nil, net.ErrClosed
	case line := <-c.in:
		return line, nil
	default:
	}
	select {
	case line := <-c.in:
		return line, nil
	case <-c.closed:
		return nil, net.ErrClosed
	case <-c.rd.expired():
		return nil, os.ErrDeadlineExceeded
	case <-c.eof:
		select { // a message may have arrived just before the end
		case line := <-c.in:
			return line, nil
		default:
			return nil, io.EOF
		}
	}
}

// Write sends each complete line in p as one message; a trailing partial
// line waits for its newline. Empty lines are not sent.
func (c *msgConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case <-c.wd.expired():
		return 0, os.ErrDeadlineExceeded
	default:
	}
	if c.ep == nil {
		return 0, io.ErrClosedPipe
	}
	c.wbuf = append(c.wbuf, p...)
	for {
		i := bytes.IndexByte(c.wbuf, '\n')
		if i < 0 {
			break
		}
		line := c.wbuf[:i]
		if len(line) > 0 {
			if err := c.ep.send(line); err != nil {
				return 0, err
			}
		}
		c.wbuf = c.wbuf[i+1:]
	}
	if len(c.wbuf) > MaxMessage {
		c.wbuf = nil
		return 0, fmt.Errorf("xpcbridge: write: line longer than %d bytes", MaxMessage)
	}
	if len(c.wbuf) == 0 {
		c.wbuf = nil // let a large buffer go
	}
	return len(p), nil
}

// Close cancels the XPC connection. Lines not yet ended by a newline are
// discarded.
func (c *msgConn) Close() error {
	first := false
	c.closeOnce.Do(func() { first = true; close(c.closed) })
	if !first {
		return net.ErrClosed
	}
	c.mu.Lock()
	if c.ep != nil {
		c.ep.cancel()
	}
	c.mu.Unlock()
	return nil
}

// PeerCreds returns the effective uid and gid XPC recorded for the peer
// when the connection was made, and its pid for logs only.
func (c *msgConn) PeerCreds() (peer.Creds, error) { return c.creds, nil }

func (c *msgConn) LocalAddr() net.Addr  { return c.local }
func (c *msgConn) RemoteAddr() net.Addr { return c.peerA }

func (c *msgConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}
func (c *msgConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *msgConn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// deadline is a settable point in time whose channel is closed once it
// has passed. The zero value has no deadline.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{}
}

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		d.ch = nil // the timer fired or is firing: its channel is spent
	}
	d.timer = nil
	if d.ch == nil || isClosed(d.ch) {
		d.ch = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	ch := d.ch
	if wait := time.Until(t); wait > 0 {
		d.timer = time.AfterFunc(wait, func() { close(ch) })
		return
	}
	close(ch)
}

func (d *deadline) expired() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
