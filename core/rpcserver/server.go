// Package rpcserver serves JSON-RPC 2.0 over stream connections and
// message transports, with the limits every Carapace entry needs: message
// size, connections, requests in flight per connection, idle time and a
// write deadline for a peer that never reads.
//
// A Server owns the listeners and connections; each connection (or each
// logical client of a message transport, such as a relay session) is a
// Session. A Session parses messages, answers the protocol-level errors
// itself, fans batches out and gathers their responses into one array, and
// hands every valid request to a Dispatcher. Responses are coalesced: all
// that are ready when the writer wakes go out in one write.
//
// It knows nothing of services: a Dispatcher decides what a request means
// (core/mux serves a service's route table; the router is another).
// Messages are read and written by package stream and parsed by package
// jsonrpc.
package rpcserver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/jsonrpc/stream"
	"github.com/gimme-tools/carapace/core/peer"
)

// Limits bounds what one peer can make the server do. Zero fields take the
// defaults below.
type Limits struct {
	MaxMessage   int           // bytes per message (line); default 1 MiB
	MaxConns     int           // open connections; default 1024
	MaxInFlight  int           // requests in flight per connection; default 64
	MaxBatch     int           // elements per batch; default 256
	IdleTimeout  time.Duration // close a connection idle this long; default 10m
	WriteTimeout time.Duration // give up on a peer that does not read; default 10s
}

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxMessage <= 0 {
		l.MaxMessage = stream.DefaultMaxMessage
	}
	if l.MaxConns <= 0 {
		l.MaxConns = 1024
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 64
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = 256
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 10 * time.Minute
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 10 * time.Second
	}
	return l
}

// Dispatcher handles valid requests. Dispatch must call done exactly once
// for every request it is given, notifications included (their response is
// discarded), from any goroutine, at any later time. It must not block for
// long: slow work belongs in a goroutine.
type Dispatcher interface {
	Dispatch(s *Session, req *jsonrpc.Request, done func(*jsonrpc.Response))
}

// AcceptFunc decides whether a new peer may connect. A non-nil error is
// sent to the peer as a JSON-RPC error with a null id, and the connection
// is closed.
type AcceptFunc func(info ConnInfo) error

// ConnInfo is what a Session knows about its peer, fixed at accept.
type ConnInfo struct {
	Creds  peer.Creds
	Via    peer.Via
	Remote string // remote address, for websocket and relay
}

// Server serves Sessions.
type Server struct {
	Dispatcher Dispatcher
	Limits     Limits
	Accept     AcceptFunc // nil accepts everyone
	Log        *slog.Logger
	// Via names the transport for ConnInfo ("unix" if empty).
	Via peer.Via
	// BatchWrites sends every response through the connection's writer
	// goroutine (stream.Writer.Batch): right for a service, whose one
	// peer, the router, multiplexes many callers over few connections.
	BatchWrites bool
	// TrustedPeer skips the full JSON validation of each message
	// (jsonrpc.ParseTrusted): right for a service, whose one peer, the
	// router, has already validated what the client sent and encoded the
	// forwarded request itself. Accept must admit only that peer.
	TrustedPeer bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*Session]struct{}
	closed    bool
	wg        sync.WaitGroup
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Server) limits() Limits { return s.Limits.WithDefaults() }

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("rpcserver: server closed")

// Serve accepts connections on l until l fails or the server is closed.
// Each connection's peer credentials are read once, here.
func (s *Server) Serve(l net.Listener) error {
	if !s.track(l) {
		return ErrServerClosed
	}
	defer s.untrack(l)
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// EMFILE, ENFILE, ECONNABORTED: wait and retry, as net/http does.
			delay = backoff(delay)
			s.log().Warn("accept failed; retrying", "err", err, "in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

func backoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	if d *= 2; d > time.Second {
		d = time.Second
	}
	return d
}

func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
	}
	s.listeners[l] = struct{}{}
	return true
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// addSession registers sess; it fails when the connection limit is reached.
func (s *Server) addSession(sess *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.sessions == nil {
		s.sessions = map[*Session]struct{}{}
	}
	if len(s.sessions) >= s.limits().MaxConns {
		return errs.E(errs.RateLimited, errs.ReasonTooManyConnections,
			errs.Hint("too many open connections; close idle clients or raise limits.max_connections"))
	}
	s.sessions[sess] = struct{}{}
	return nil
}

func (s *Server) removeSession(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Close stops every listener and session and waits for connection
// goroutines to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	sessions := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.Close()
	}
	s.wg.Wait()
	return nil
}

// NewSession starts a session for a message transport (WebSocket, relay,
// XPC adapters that are not net.Conns): send delivers one encoded message
// to the peer and is called from one goroutine at a time. The caller feeds
// messages with Handle and ends the session with Close.
func (s *Server) NewSession(ctx context.Context, info ConnInfo, send func(msg []byte) error) (*Session, error) {
	sess := newSession(ctx, s, info, &messageSink{fn: send})
	if err := s.addSession(sess); err != nil {
		sess.cancel()
		return nil, err
	}
	return sess, nil
}

// MethodNotFound returns the -32601 error object for method.
func MethodNotFound(method string) *jsonrpc.Error {
	d, _ := json.Marshal(map[string]string{"reason": string(errs.ReasonNoMethod), "method": method,
		"hint": "run `carapace call rpc.methods` for the list, or check the spelling"})
	return &jsonrpc.Error{Code: int(errs.NoMethod), Message: errs.NoMethod.String(), Data: d}
}
