// Package stream carries JSON-RPC messages on connections: Reader splits
// a byte stream into newline-delimited messages under a size limit;
// Writer writes them without ever blocking a sender on a slow peer;
// LoopConn reads a Unix socket with one system call per burst of input
// and, on Linux, an epoll watcher for the peer's shutdown; FDConn and
// Writer.SendFD pass descriptors with messages (SCM_RIGHTS). On Linux,
// LoopConn's reads and Writer's writes of a socket are made without the
// scheduler's system-call state (raw_linux.go). What a message means is
// package jsonrpc's; docs/internals.md writes down the framing both ends
// keep.
package stream

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxMessage is the default limit on one message (one line), 1 MiB.
const DefaultMaxMessage = 1 << 20

// ErrTooLarge is returned by Reader.Next for a line over the limit, as
// soon as the limit is passed. The next call skips the rest of that line
// (without buffering it) and reads the next message: the stream is
// resynchronised at the next newline.
var ErrTooLarge = errors.New("message too large")

// Reader reads newline-delimited messages. A message is one line; a
// trailing "\r" is dropped; blank lines are skipped. A final line without
// a newline at end of stream is returned as a message too.
type Reader struct {
	r       *bufio.Reader
	max     int
	buf     []byte
	partial bool // buf holds the start of a line cut short by a read error
	skip    bool // the rest of an oversized line is still to be skipped
}

// NewReader returns a Reader of messages of at most max bytes (not
// counting the newline) from r.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	size := 64 << 10
	if max < size {
		size = max + 1
	}
	return &Reader{r: bufio.NewReaderSize(r, size), max: max}
}

// Next returns the next message. The slice is valid until the next call.
// It returns io.EOF at a clean end of stream, ErrTooLarge for an oversized
// line (after skipping it), and any read error otherwise. After a read
// error that can pass (a deadline), calling Next again continues the line
// where it was cut: nothing already read is lost.
func (r *Reader) Next() ([]byte, error) {
	for {
		line, err := r.line()
		if err != nil {
			return nil, err
		}
		if len(line) > 0 && (line[0] == '{' || line[0] == '[') || len(bytes.TrimSpace(line)) > 0 {
			return line, nil // most lines: the first byte tells
		}
	}
}

func (r *Reader) line() ([]byte, error) {
	if r.skip {
		if err := r.skipLine(); !errors.Is(err, ErrTooLarge) {
			return nil, err
		}
	}
	if !r.partial {
		r.buf = r.buf[:0]
	}
	r.partial = false
	for {
		chunk, err := r.r.ReadSlice('\n')
		n := len(r.buf) + len(chunk)
		if err == nil {
			n-- // the newline is not part of the message
		}
		if n > r.max {
			switch {
			case err == nil, errors.Is(err, io.EOF):
				return nil, ErrTooLarge
			}
			// Report it now; the rest of the line is skipped by the
			// next call (which may have to wait for it).
			r.buf = r.buf[:0]
			r.skip = true
			return nil, ErrTooLarge
		}
		switch {
		case err == nil:
			if len(r.buf) == 0 {
				return trimEOL(chunk), nil
			}
			r.buf = append(r.buf, chunk...)
			return trimEOL(r.buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			r.buf = append(r.buf, chunk...)
		case errors.Is(err, io.EOF):
			r.buf = append(r.buf, chunk...)
			if len(r.buf) == 0 {
				return nil, io.EOF
			}
			return trimEOL(r.buf), nil
		default:
			r.buf = append(r.buf, chunk...)
			r.partial = true
			return nil, err
		}
	}
}

// skipLine discards input through the next newline, without buffering it.
// It returns ErrTooLarge once the newline is found (or at end of stream),
// or a read error that cut it short; then the next call goes on skipping.
func (r *Reader) skipLine() error {
	r.buf = r.buf[:0]
	r.skip = true
	for {
		_, err := r.r.ReadSlice('\n')
		switch {
		case err == nil, errors.Is(err, io.EOF):
			r.skip = false
			return ErrTooLarge
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// ReadMessage reads a whole message-framed message (a WebSocket frame, a
// relay frame) from r, up to max bytes. A longer one returns its first
// max bytes and ErrTooLarge, with the rest left unread: the caller closes
// the connection, or drains r to go on.
func ReadMessage(r io.Reader, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return b[:max], ErrTooLarge
	}
	return b, nil
}
