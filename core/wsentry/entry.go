// Package wsentry is Carapace's WebSocket entry (127.0.0.1:7001 by
// default): the same JSON-RPC 2.0 the router speaks on its Unix socket,
// one message or batch per text frame, for clients that cannot open a Unix
// socket (a local tunnel, a test harness, a browser extension the owner
// allowed).
//
// A localhost port is reachable by every web page the owner opens, so the
// handshake is checked before it is upgraded: the Host header must be this
// listener's own loopback name (DNS rebinding), and an Origin or Referer,
// when present, must be in a configured allowlist that is empty by
// default (cross-site WebSocket hijacking). Peers over this entry have no
// OS identity: their sessions carry uid -1, so nothing here is the owner,
// and only a capability token (Authorization: Bearer at the handshake, or
// the auth method afterwards) opens a service. When Entry.MCP is set, the
// same listener serves MCP's streamable HTTP transport at /mcp, after the
// same Host and Origin checks.
package wsentry

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// Via is the transport name recorded in each session's ConnInfo and so in
// audit records.
const Via = "websocket"

// NoOwner is the peer identity of every WebSocket session: no uid, so no
// check that compares against the owner's uid can pass.
var NoOwner = peer.Creds{UID: -1, GID: -1}

// Entry serves the WebSocket entry. It is an http.Handler; Serve runs it
// on a listener from Listen.
type Entry struct {
	// Server owns the sessions and their limits (message size, connections,
	// requests in flight, idle and write timeouts).
	Server *rpcserver.Server
	// AllowedOrigins lists the origins ("https://app.example") whose pages
	// may open the entry. Empty, the default, refuses every page.
	AllowedOrigins []string
	// OnBearer receives the token of an "Authorization: Bearer" header,
	// once, after the session starts and before its first message. An
	// error is sent to the peer as a JSON-RPC error and the connection is
	// closed with 1008. When OnBearer is nil, a handshake carrying a bearer
	// token is refused with 401.
	OnBearer func(sess *rpcserver.Session, token string) error
	// PingInterval is how often an idle peer is pinged (default 30s); a
	// peer that does not answer within the write timeout is dropped.
	PingInterval time.Duration
	// MCP, when set, serves the Model Context Protocol's streamable HTTP
	// transport at /mcp and its metadata under /.well-known/ (after the
	// same Host and Origin checks); every other path is the WebSocket.
	MCP http.Handler
	Log *slog.Logger

	mu sync.Mutex
	hs *http.Server
}

func (e *Entry) log() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// limits returns the server's limits the entry enforces itself, with the
// rpcserver defaults.
func (e *Entry) limits() (maxMsg int, idle, write, ping time.Duration) {
	l := e.Server.Limits
	maxMsg, idle, write, ping = l.MaxMessage, l.IdleTimeout, l.WriteTimeout, e.PingInterval
	if maxMsg <= 0 {
		maxMsg = stream.DefaultMaxMessage
	}
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	if write <= 0 {
		write = 10 * time.Second
	}
	if ping <= 0 {
		ping = 30 * time.Second
	}
	return
}

// ServeHTTP checks the handshake (Host, Origin, Authorization), upgrades
// it and serves the connection until either side closes it.
func (e *Entry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if ref := checkHost(r, local); ref != nil {
		e.refuse(w, r, ref)
		return
	}
	if ref := checkOrigin(r, e.AllowedOrigins); ref != nil {
		e.refuse(w, r, ref)
		return
	}
	if e.MCP != nil && (r.URL.Path == "/mcp" || strings.HasPrefix(r.URL.Path, "/.well-known/")) {
		e.MCP.ServeHTTP(w, r)
		return
	}
	token, ref := bearer(r)
	if ref == nil && token != "" && e.OnBearer == nil {
		ref = &refusal{http.StatusUnauthorized, errs.ReasonBearerUnsupported,
			"this router does not accept bearer tokens at the handshake; connect without one and call auth"}
	}
	if ref != nil {
		e.refuse(w, r, ref)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Origin was checked above, more strictly than the library would
		// (it lets a same-host Origin through; we allow only the list).
		InsecureSkipVerify: true,
		// No compression: a small frame must not inflate past the read
		// limit's accounting, and there is nothing to gain on loopback.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has written the HTTP error
	}
	e.serve(conn, r.RemoteAddr, token)
}

// serve runs one upgraded connection as one rpcserver session.
func (e *Entry) serve(conn *websocket.Conn, remote, token string) {
	maxMsg, idle, write, ping := e.limits()
	conn.SetReadLimit(-1) // enforced by stream.ReadMessage, with a clearer close reason
	c := &wsConn{conn: conn, write: write}
	info := rpcserver.ConnInfo{Creds: NoOwner, Via: Via, Remote: remote}
	sess, err := e.Server.NewSession(context.Background(), info, c.send)
	if err != nil {
		e.log().Warn("websocket connection refused", "remote", remote, "err", err)
		c.send(jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}))
		conn.Close(websocket.StatusTryAgainLater, "too many connections; try again later")
		return
	}
	sess.OnClose(func() { go conn.Close(websocket.StatusGoingAway, "session ended") })
	defer sess.Close()
	if token != "" {
		if err := e.OnBearer(sess, token); err != nil {
			c.send(jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.ErrorFrom(err)}))
			conn.Close(websocket.StatusPolicyViolation, "the bearer token was refused")
			return
		}
	}
	go c.keepalive(sess.Context(), ping)
	// The timer exists before it can fire: idleOut resets it.
	c.idle = time.AfterFunc(time.Duration(math.MaxInt64), func() { c.idleOut(sess, idle) })
	c.idle.Reset(idle)
	defer c.idle.Stop()
	c.readLoop(sess, maxMsg, idle)
}

// wsConn is one upgraded connection.
type wsConn struct {
	conn  *websocket.Conn
	write time.Duration
	idle  *time.Timer
}

// send writes one message as a text frame, giving up after the write
// timeout (the library then closes the connection).
func (c *wsConn) send(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.write)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, msg)
}

// readLoop hands each text frame to the session until the connection
// ends. A binary frame closes it with 1003, an oversized one with 1009.
func (c *wsConn) readLoop(sess *rpcserver.Session, maxMsg int, idle time.Duration) {
	for {
		typ, r, err := c.conn.Reader(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			c.conn.Close(websocket.StatusUnsupportedData,
				"binary frames are not accepted: send each JSON-RPC message as a text frame")
			return
		}
		msg, err := stream.ReadMessage(r, maxMsg)
		if errors.Is(err, stream.ErrTooLarge) {
			c.conn.Close(websocket.StatusMessageTooBig,
				"a message may be at most "+strconv.Itoa(maxMsg)+" bytes; use file.open for large files")
			return
		}
		if err != nil {
			return
		}
		c.idle.Reset(idle)
		sess.Handle(msg)
	}
}

// keepalive pings the peer until ctx ends; a peer that does not answer is
// dropped, which ends the read loop.
func (c *wsConn) keepalive(ctx context.Context, every time.Duration) {
	Keepalive(ctx, c.conn, every, c.write)
}

// Keepalive pings conn every interval until ctx ends (it then returns
// nil). A ping not answered within timeout closes conn and is returned:
// the peer is gone, and whoever reads from conn sees it end.
func Keepalive(ctx context.Context, conn *websocket.Conn, every, timeout time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			conn.CloseNow()
			return err
		}
	}
}

// idleOut closes a connection that sent nothing for the idle time, unless
// it is waiting on an answer.
func (c *wsConn) idleOut(sess *rpcserver.Session, idle time.Duration) {
	if sess.InFlight() > 0 {
		c.idle.Reset(idle)
		return
	}
	c.send(jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.NewError(errs.Timeout, errs.ReasonIdleTimeout,
		"the connection was idle for "+idle.String()+"; reconnect to continue")}))
	c.conn.Close(websocket.StatusNormalClosure, "idle timeout")
}
