// Package relay is the outbound tunnel: the router dials a relay in the
// cloud (relay.url, wss://), proves which device it is with a short-lived
// assertion signed by the device key, and serves the JSON-RPC sessions the
// relay multiplexes over that one WebSocket. No inbound port is opened on
// the owner's machine.
//
// Every frame, both ways, is one JSON object naming a session chosen by the
// relay (see Frame). Each session is its own rpcserver.Session — its own
// tokens, rate limits and audit trail, identity uid -1 and Via "relay" —
// and ends when the relay closes it or the tunnel drops. When the tunnel
// drops, the client redials with capped, jittered exponential backoff.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// Subprotocol is the WebSocket subprotocol the tunnel speaks; a relay must
// select it, so a change to the frame format can be negotiated.
const Subprotocol = "carapace.relay.v1"

// Via is the transport name recorded in each relay session's ConnInfo.
const Via = "relay"

// Client keeps a tunnel to the relay open and serves its sessions.
type Client struct {
	// URL is the relay's address: wss://, or ws:// to a loopback host.
	URL string
	// Assert returns a fresh assertion for each dial, sent as
	// "Authorization: Bearer <assertion>": a short-lived token signed by the
	// device key that names the device id. Required.
	Assert func() (string, error)
	// Server owns the sessions and their limits.
	Server *rpcserver.Server
	// MaxSessions bounds the sessions open at once over the tunnel
	// (default 256).
	MaxSessions int
	// PingInterval is how often the relay is pinged (default 30s); a relay
	// that does not answer within the write timeout is redialled.
	PingInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between dials (defaults 1s
	// and 2m).
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient dials the relay (default http.DefaultClient).
	HTTPClient *http.Client
	Log        *slog.Logger

	mu    sync.Mutex
	state State
}

// State is the tunnel's state, for `carapace status`.
type State struct {
	URL       string    `json:"url"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"` // when it last connected or dropped
	Redials   int       `json:"redials"`
	Sessions  int       `json:"sessions"`
	LastError string    `json:"last_error,omitempty"`
}

// State returns the tunnel's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.URL = c.URL
	return s
}

func (c *Client) update(f func(*State)) {
	c.mu.Lock()
	f(&c.state)
	c.mu.Unlock()
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// CheckURL reports whether u is a relay address the client may dial:
// wss:// anywhere, ws:// only to a loopback host (tests, a local relay).
func CheckURL(u string) error {
	p, err := url.Parse(u)
	if err == nil && p.Host == "" {
		err = errors.New("no host")
	}
	if err != nil {
		return errs.E("relay.url", errs.InvalidParams, errs.ReasonBadURL,
			errs.Hint("use wss://relay.example/tunnel"), err)
	}
	switch p.Scheme {
	case "wss":
		return nil
	case "ws":
		h := p.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return errs.E("relay.url", errs.Forbidden, errs.ReasonPlaintextRelay,
			errs.Hint("use wss:// — ws:// (no TLS) is allowed only to a loopback relay"),
			fmt.Errorf("%s is not loopback", h))
	}
	return errs.E("relay.url", errs.InvalidParams, errs.ReasonBadURL,
		errs.Hint("the relay URL must start with wss://"), fmt.Errorf("scheme %q", p.Scheme))
}

// Run keeps the tunnel up until ctx ends: dial, serve, and after a drop or
// a failed dial wait a jittered, capped, growing delay and dial again. It
// returns an error only for a configuration the client cannot use.
func (c *Client) Run(ctx context.Context) error {
	if err := CheckURL(c.URL); err != nil {
		return err
	}
	if c.Assert == nil || c.Server == nil {
		return errors.New("relay: Client needs Assert and Server")
	}
	lo, hi := c.backoffBounds()
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.update(func(s *State) { s.Redials++ })
		}
		up, err := c.once(ctx)
		if ctx.Err() != nil {
			c.update(func(s *State) { s.Connected = false; s.Since = time.Now() })
			return nil
		}
		c.update(func(s *State) { s.Connected = false; s.Since = time.Now(); s.LastError = err.Error() })
		if up >= hi {
			attempt = 0 // it was a working tunnel: start the backoff over
		}
		d := backoff(attempt, lo, hi, rand.Float64)
		c.log().Warn("relay tunnel down; redialling", "url", c.URL, "err", err, "in", d)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d):
		}
	}
}

func (c *Client) backoffBounds() (lo, hi time.Duration) {
	lo, hi = c.MinBackoff, c.MaxBackoff
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 2 * time.Minute
	}
	return lo, max(lo, hi)
}

// backoff returns the wait before dial number attempt+1: lo doubled per
// attempt, capped at hi, then jittered into its upper half so that many
// routers dropped at once do not redial in step.
func backoff(attempt int, lo, hi time.Duration, rnd func() float64) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// once dials and serves one tunnel; it returns how long it was up and why
// it ended.
func (c *Client) once(ctx context.Context) (time.Duration, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	c.update(func(s *State) { s.Connected = true; s.Since = start; s.LastError = "" })
	c.log().Info("relay tunnel up", "url", c.URL)
	t := newTunnel(c, conn)
	err = t.serve(ctx)
	return time.Since(start), err
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	a, err := c.Assert()
	if err != nil {
		return nil, fmt.Errorf("relay: device assertion: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, c.URL, &websocket.DialOptions{
		HTTPClient:   c.HTTPClient,
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + a}},
		Subprotocols: []string{Subprotocol},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("relay: dial %s: HTTP %d: %w", c.URL, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("relay: dial %s: %w", c.URL, err)
	}
	if conn.Subprotocol() != Subprotocol {
		conn.Close(websocket.StatusPolicyViolation, "expected subprotocol "+Subprotocol)
		return nil, fmt.Errorf("relay: %s did not select subprotocol %s", c.URL, Subprotocol)
	}
	return conn, nil
}

// errorMessage encodes a JSON-RPC error with a null id.
func errorMessage(k errs.Kind, reason errs.Reason, hint string) []byte {
	return jsonrpc.AppendResponse(nil, &jsonrpc.Response{Error: jsonrpc.NewError(k, reason, hint)})
}
