package rpcserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/peer"
)

var errSinkClosed = errors.New("rpcserver: connection closed")

// serveConn runs one stream connection: identity at accept, then a read
// loop feeding the session, with the idle timeout enforced between
// messages. At end of input it waits for in-flight answers, flushes them,
// and closes.
func (s *Server) serveConn(c net.Conn) {
	lim := s.limits()
	creds, credErr := peer.FromConn(c)
	via := s.Via
	if via == "" {
		via = peer.ViaUnix
	}
	info := ConnInfo{Creds: creds, Via: via}
	if credErr != nil {
		info.Creds = peer.Creds{UID: -1, GID: -1}
	}
	lc := stream.NewLoopConn(c) // read, written and closed through lc
	sk := newStreamSink(lc, lim)
	if s.BatchWrites {
		sk.w.Batch()
	}
	sess := newSession(context.Background(), s, info, sk)
	refuse := s.addSession(sess)
	if refuse == nil && s.Accept != nil {
		if credErr != nil {
			refuse = errs.E("accept", errs.Forbidden, errs.ReasonPeerUnknown, credErr)
		} else {
			refuse = s.Accept(info)
		}
		if refuse != nil {
			s.removeSession(sess)
		}
	}
	if refuse != nil {
		s.log().Warn("connection refused", "peer", info.Creds.String(), "err", refuse)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write(append(jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.ErrorFrom(refuse)}), '\n'))
		lc.Close()
		return
	}
	go sk.loop(sess)
	s.readLoop(lc, sess, lim)
}

func (s *Server) readLoop(c *stream.LoopConn, sess *Session, lim Limits) {
	// Idleness is checked at ticks of a tenth of the idle timeout: a
	// connection that received nothing and had nothing in flight for
	// idleTicks ticks in a row is idle. Messages only mark the tick
	// active: reading the clock for every message costs more than the
	// precision is worth (2 % of the router's echo).
	tick := lim.IdleTimeout / idleTicks
	quiet, active := 0, false
	c.SetReadDeadline(time.Now().Add(tick))
	c.ReadLoop(lim.MaxMessage, func(line []byte, err error) bool {
		switch {
		case err == nil:
			active = true
			sess.Handle(line)
		case errors.Is(err, stream.ErrTooLarge):
			active = true
			sess.sendError(nil, jsonrpc.NewError(errs.TooLarge, errs.ReasonMessageTooLarge,
				"a message may be at most "+strconv.Itoa(lim.MaxMessage)+" bytes; the line was skipped"))
		case errors.Is(err, os.ErrDeadlineExceeded):
			if active || sess.InFlight() > 0 { // waiting on a slow answer is not idleness
				quiet = 0
			} else if quiet++; quiet >= idleTicks {
				sess.sendError(nil, jsonrpc.NewError(errs.Timeout, errs.ReasonIdleTimeout,
					"the connection was idle for "+lim.IdleTimeout.String()+"; reconnect to continue"))
				sess.end(true)
				return true
			}
			active = false
			c.SetReadDeadline(time.Now().Add(tick))
		case errors.Is(err, io.EOF):
			// The peer finished sending (perhaps only half-closed): answer
			// what it asked, then close.
			if waitPending(sess, c.PeerClosed) {
				sess.Close() // nobody reads: in-flight calls are cancelled
			} else {
				sess.end(true)
			}
			return true
		default:
			sess.Close()
			return true
		}
		return false
	})
}

// idleTicks is how many times a connection's idleness is checked within
// its idle timeout.
const idleTicks = 10

// waitPending waits until the session's in-flight requests are answered,
// the session ends, or the peer turns out to have closed the connection
// altogether (gone, checked every pollGone), which it reports: a client
// killed mid-call must not leave its commands running for an answer
// nobody will read.
func waitPending(sess *Session, gone func() bool) (peerGone bool) {
	done := make(chan struct{})
	go func() { sess.pending.Wait(); close(done) }()
	t := time.NewTicker(pollGone)
	defer t.Stop()
	for {
		select {
		case <-done:
			return false
		case <-sess.ctx.Done():
			return false
		case <-t.C:
			if gone() {
				return true
			}
		}
	}
}

// pollGone is how often a connection whose peer stopped sending is checked
// for a full close while its answers are awaited.
const pollGone = 100 * time.Millisecond

// streamSink adapts a stream.Writer to the session's sink.
type streamSink struct{ w *stream.Writer }

func newStreamSink(c net.Conn, lim Limits) *streamSink {
	return &streamSink{w: stream.NewWriter(c, lim.WriteTimeout, 8*lim.MaxMessage+1<<20)}
}

func (s *streamSink) send(msg []byte) error { return s.w.Send(msg) }

// respBufs are encoding buffers for responses on stream connections: the
// Writer copies what it is sent, so the buffer is reused at once.
var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sendResponse encodes r into a reused buffer and sends it.
func (s *streamSink) sendResponse(r *jsonrpc.Response) error {
	b := respBufs.Get().(*[]byte)
	*b = jsonrpc.AppendResponse((*b)[:0], r)
	err := s.w.Send(*b)
	if cap(*b) <= 64<<10 { // a large answer's buffer is left to the collector
		respBufs.Put(b)
	}
	return err
}
func (s *streamSink) close(flush bool) { s.w.Close(flush) }

// loop runs the writer and ends the session when a write fails.
func (s *streamSink) loop(sess *Session) {
	if err := s.w.Run(); err != nil {
		sess.Close()
	}
}
