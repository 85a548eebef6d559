package relay

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/wsentry"
)

// NoOwner is the peer identity of every relay session: no uid, so nothing
// that arrives through the relay is the owner.
var NoOwner = peer.Creds{UID: -1, GID: -1}

// envelope is the room a frame needs around its message: the session id
// (at most MaxSessionID bytes, escaped) and the member names.
const envelope = 6*MaxSessionID + 64

// tunnel is one connection to the relay and the sessions riding on it.
type tunnel struct {
	c           *Client
	conn        *websocket.Conn
	write       time.Duration
	ping        time.Duration
	maxMsg      int
	maxSessions int

	mu       sync.Mutex
	sessions map[string]*rpcserver.Session
	down     bool
}

func newTunnel(c *Client, conn *websocket.Conn) *tunnel {
	l := c.Server.Limits
	t := &tunnel{c: c, conn: conn, write: l.WriteTimeout, ping: c.PingInterval,
		maxMsg: l.MaxMessage, maxSessions: c.MaxSessions, sessions: map[string]*rpcserver.Session{}}
	if t.write <= 0 {
		t.write = 10 * time.Second
	}
	if t.ping <= 0 {
		t.ping = 30 * time.Second
	}
	if t.maxMsg <= 0 {
		t.maxMsg = stream.DefaultMaxMessage
	}
	if t.maxSessions <= 0 {
		t.maxSessions = 256
	}
	return t
}

// serve reads frames until the tunnel fails or ctx ends, then drops every
// session.
func (t *tunnel) serve(ctx context.Context) error {
	// Oversized frames are drained and refused by readFrame, one session
	// at a time, rather than ending the whole tunnel.
	t.conn.SetReadLimit(-1)
	defer t.conn.CloseNow()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { t.conn.Close(websocket.StatusGoingAway, "carapace is stopping") })
	defer stop()
	defer t.dropAll()
	go t.keepalive(ctx)
	for {
		typ, r, err := t.conn.Reader(context.Background())
		if err != nil {
			return err
		}
		b, err := readFrame(r, t.maxMsg+envelope)
		switch {
		case errors.Is(err, stream.ErrTooLarge):
			t.tooLarge(b)
			continue
		case err != nil:
			return err
		case typ != websocket.MessageText:
			t.c.log().Warn("relay sent a binary frame; ignored", "bytes", len(b))
			continue
		}
		t.handle(b)
	}
}

// readFrame reads one frame of at most max bytes. A larger one is read to
// its end and discarded; its first max bytes are returned with
// stream.ErrTooLarge, and the tunnel goes on.
func readFrame(r io.Reader, max int) ([]byte, error) {
	b, err := stream.ReadMessage(r, max)
	if errors.Is(err, stream.ErrTooLarge) {
		if _, derr := io.Copy(io.Discard, r); derr != nil {
			return nil, derr
		}
	}
	return b, err
}

// handle routes one frame to its session. A malformed frame is logged and
// dropped; it touches no session.
func (t *tunnel) handle(b []byte) {
	f, err := DecodeFrame(b)
	if err != nil {
		t.c.log().Warn("malformed relay frame ignored", "err", err, "bytes", len(b))
		return
	}
	if f.Close {
		t.drop(f.Session)
		return
	}
	if len(f.Message) > t.maxMsg {
		t.tooLarge(b)
		return
	}
	sess, err := t.session(f.Session)
	if err != nil {
		t.c.log().Warn("relay session refused", "session", f.Session, "err", err)
		t.send(appendMessage(nil, f.Session, jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)})))
		t.send(appendClose(nil, f.Session))
		return
	}
	sess.Handle(f.Message)
}

// tooLarge answers an oversized frame's session, when its id can be read,
// with -32009; the session itself goes on.
func (t *tunnel) tooLarge(prefix []byte) {
	id, ok := sessionOf(prefix)
	t.c.log().Warn("oversized relay frame refused", "session", id)
	if !ok {
		return
	}
	t.send(appendMessage(nil, id, errorMessage(errs.TooLarge, errs.ReasonMessageTooLarge,
		"a message may be at most "+strconv.Itoa(t.maxMsg)+" bytes; the frame was skipped")))
}

// session returns the session for id, starting it on first use.
func (t *tunnel) session(id string) (*rpcserver.Session, error) {
	t.mu.Lock()
	if s, ok := t.sessions[id]; ok {
		t.mu.Unlock()
		return s, nil
	}
	if t.down {
		t.mu.Unlock()
		return nil, errors.New("relay: tunnel closed")
	}
	if len(t.sessions) >= t.maxSessions {
		t.mu.Unlock()
		return nil, errs.E("relay", errs.RateLimited, errs.ReasonTooManySessions,
			errs.Hint("at most "+strconv.Itoa(t.maxSessions)+" relay sessions may be open at once; close one first"))
	}
	info := rpcserver.ConnInfo{Creds: NoOwner, Via: Via, Remote: id}
	s, err := t.c.Server.NewSession(context.Background(), info, func(msg []byte) error {
		return t.send(appendMessage(nil, id, msg))
	})
	if err != nil {
		t.mu.Unlock()
		return nil, err
	}
	t.sessions[id] = s
	t.countLocked()
	t.mu.Unlock()
	// Registered outside t.mu: a session already ended runs f at once.
	s.OnClose(func() {
		if t.forget(id, s) {
			go t.send(appendClose(nil, id)) // the router ended it: tell the relay
		}
	})
	return s, nil
}

// forget removes s from the table if it is still there under id, and
// reports whether it was.
func (t *tunnel) forget(id string, s *rpcserver.Session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sessions[id] != s {
		return false
	}
	delete(t.sessions, id)
	t.countLocked()
	return true
}

// drop ends a session the relay closed.
func (t *tunnel) drop(id string) {
	t.mu.Lock()
	s := t.sessions[id]
	delete(t.sessions, id)
	t.countLocked()
	t.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// dropAll ends every session: the tunnel is gone.
func (t *tunnel) dropAll() {
	t.mu.Lock()
	t.down = true
	all := t.sessions
	t.sessions = map[string]*rpcserver.Session{}
	t.countLocked()
	t.mu.Unlock()
	for _, s := range all {
		s.Close()
	}
}

func (t *tunnel) countLocked() {
	n := len(t.sessions)
	t.c.update(func(s *State) { s.Sessions = n })
}

// send writes one frame, giving up after the write timeout (the library
// then closes the tunnel, which is redialled).
func (t *tunnel) send(frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), t.write)
	defer cancel()
	return t.conn.Write(ctx, websocket.MessageText, frame)
}

// keepalive pings the relay until ctx ends; a relay that does not answer
// is dropped, and Run redials.
func (t *tunnel) keepalive(ctx context.Context) {
	if err := wsentry.Keepalive(ctx, t.conn, t.ping, t.write); err != nil {
		t.c.log().Warn("relay did not answer a ping", "err", err)
	}
}
