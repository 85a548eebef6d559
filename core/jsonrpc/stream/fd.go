package stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Descriptor passing (SCM_RIGHTS) on a Unix stream connection.
//
// A stream socket has no message boundaries, but the kernel keeps a
// descriptor with the bytes of the sendmsg call that carried it: the
// receiver gets it from the recvmsg that returns the first of those bytes
// (Linux attaches it to the first segment of the call, and a read never
// runs past a segment that carries descriptors). The rule both ends keep:
//
//   - The sender passes descriptors in the order of their messages, each
//     with a write that begins at or before the first byte of its
//     message, never after it (Writer.SendFD).
//   - The receiver queues every descriptor it receives, in arrival order
//     (FDConn), and gives the next one to the next message that says
//     "fd": true (jsonrpc.WantsFD). A descriptor has always arrived by the time
//     the first byte of its message has been read, so the queue is never
//     short for an honest peer, and its order is the messages' order.

// MaxFDsPerWrite bounds the descriptors passed in one sendmsg (Linux
// refuses more than 253, SCM_MAX_FD).
const MaxFDsPerWrite = 200

// maxQueuedFDs bounds the descriptors an FDConn holds that no message has
// claimed: more means the peer is passing descriptors it never announces.
const maxQueuedFDs = 256

// ErrNoFDPassing is returned by Writer.SendFD on a connection that cannot
// carry descriptors (not a Unix socket), or for more than MaxFDsPerWrite
// descriptors at once.
var ErrNoFDPassing = errors.New("stream: this connection cannot pass descriptors")

// ErrFDOverflow is returned by FDConn.Read when the peer passed more
// descriptors than fit, or than anyone claimed: the pairing of
// descriptors with messages can no longer be trusted.
var ErrFDOverflow = errors.New("stream: descriptors lost or never claimed")

// FDConn is a Unix connection whose reads also receive the descriptors
// passed with the bytes, queued in arrival order for TakeFD. Close closes
// every descriptor still queued.
type FDConn struct {
	*net.UnixConn
	raw syscall.RawConn // nil: ReadMsgUnix
	oob []byte

	mu     sync.Mutex
	fds    []*os.File
	closed bool
}

// NewFDConn returns c as an FDConn.
func NewFDConn(c *net.UnixConn) *FDConn {
	var raw syscall.RawConn
	if rawRecvmsgOK {
		raw, _ = c.SyscallConn()
	}
	return &FDConn{UnixConn: c, raw: raw, oob: make([]byte, 2*unix.CmsgSpace(253*4))}
}

// Read reads like the connection's Read and queues any descriptors that
// came with the bytes (close-on-exec).
func (c *FDConn) Read(b []byte) (int, error) {
	n, oobn, flags, err := c.readMsg(b)
	n = max(n, 0) // a failed recvmsg may report -1
	if oobn > 0 {
		files, perr := parseRights(c.oob[:oobn])
		c.mu.Lock()
		c.fds = append(c.fds, files...)
		over := len(c.fds) > maxQueuedFDs
		if c.closed {
			closeAll(c.fds)
			c.fds = nil
		}
		c.mu.Unlock()
		if perr != nil && err == nil {
			err = perr
		}
		if over && err == nil {
			err = ErrFDOverflow
		}
	}
	if flags&unix.MSG_CTRUNC != 0 && err == nil {
		err = ErrFDOverflow
	}
	return n, err
}

// readMsg is ReadMsgUnix (close-on-exec descriptors, io.EOF at the end)
// through rawRecvmsg, which does not enter the scheduler's system-call
// state (raw_linux.go): the router reads every forwarded call's answer
// here, and ReadMsgUnix's recvmsg woke the scheduler's monitor on half
// of them (perf probe on runtime.entersyscall, a forwarded file.echo).
func (c *FDConn) readMsg(b []byte) (n, oobn, flags int, err error) {
	if c.raw == nil {
		n, oobn, flags, _, err = c.ReadMsgUnix(b, c.oob)
		return n, oobn, flags, err
	}
	var rerr error
	err = c.raw.Read(func(fd uintptr) bool {
		n, oobn, flags, rerr = rawRecvmsg(int(fd), b, c.oob, cmsgCloexec)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err == nil && n == 0 && len(b) > 0 {
		err = io.EOF
	}
	if err != nil && err != io.EOF {
		err = &net.OpError{Op: "read", Net: "unix", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	return n, oobn, flags, err
}

// TakeFD returns the oldest queued descriptor, or nil when none is queued.
// The caller owns it.
func (c *FDConn) TakeFD() *os.File {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fds) == 0 {
		return nil
	}
	f := c.fds[0]
	c.fds[0] = nil
	c.fds = c.fds[1:]
	return f
}

// Queued returns the number of descriptors received and not yet taken.
func (c *FDConn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fds)
}

// Close closes the connection and every queued descriptor.
func (c *FDConn) Close() error {
	c.mu.Lock()
	c.closed = true
	closeAll(c.fds)
	c.fds = nil
	c.mu.Unlock()
	return c.UnixConn.Close()
}

// parseRights returns the descriptors in a control message buffer.
func parseRights(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("stream: control message: %w", err)
	}
	var files []*os.File
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		fds, err := unix.ParseUnixRights(m)
		if err != nil {
			return files, fmt.Errorf("stream: SCM_RIGHTS: %w", err)
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "passed"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// fdBatch is descriptors waiting to be passed with the message that starts
// at stream offset at.
type fdBatch struct {
	at    int64
	files []*os.File
}

// SendFD writes msg like Send, passing files with it (SCM_RIGHTS). The
// Writer owns files from the call on: it closes them once the kernel has
// them, or when the send fails.
//
// The descriptors go with the write that begins with the first unwritten
// byte of the queue, whether that is msg's first byte or an earlier
// message's: either way the peer has them once it reads msg's first byte
// (see the note on descriptor passing at the top of fd.go). Only a write whose
// descriptors would exceed MaxFDsPerWrite stops short, at the start of
// the first message whose descriptors did not fit.
func (w *Writer) SendFD(msg []byte, files ...*os.File) error {
	if len(files) == 0 {
		return w.Send(msg)
	}
	if w.uc == nil || len(files) > MaxFDsPerWrite {
		closeAll(files)
		return ErrNoFDPassing
	}
	return w.send(msg, files)
}

// CanPassFDs reports whether SendFD can pass descriptors on this
// connection.
func (w *Writer) CanPassFDs() bool { return w.uc != nil }

// closeFDsLocked closes every descriptor not yet passed. w.mu is held.
func (w *Writer) closeFDsLocked() {
	for _, b := range w.fds {
		closeAll(b.files)
	}
	w.fds = nil
}

// fdPlan returns the descriptors to pass with a write of out (which starts
// at stream offset w.written), how many batches they come from, and how
// much of out that write may carry. w.mu is held.
func (w *Writer) fdPlan(out []byte) (files []*os.File, batches, limit int) {
	limit = len(out)
	end := w.written + int64(len(out))
	for _, b := range w.fds {
		if b.at >= end {
			break
		}
		if len(files)+len(b.files) > MaxFDsPerWrite && batches > 0 {
			limit = int(b.at - w.written)
			break
		}
		files = append(files, b.files...)
		batches++
	}
	return files, batches, limit
}

// oob returns the control message passing files.
func oob(files []*os.File) []byte {
	if len(files) == 0 {
		return nil
	}
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	return unix.UnixRights(fds...)
}

// passedLocked forgets the first n batches once a write carried them,
// closing the sender's copies. w.mu is held.
func (w *Writer) passedLocked(n int) {
	for _, b := range w.fds[:n] {
		closeAll(b.files)
	}
	w.fds = append(w.fds[:0], w.fds[n:]...)
}
