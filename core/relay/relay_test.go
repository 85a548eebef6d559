package relay

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// tokenDispatcher stands in for the router's per-session token store: auth
// puts a token in the session's state, tokens lists them.
type tokenDispatcher struct{}

type tokenState struct {
	mu     sync.Mutex
	tokens []string
}

func (tokenDispatcher) Dispatch(s *rpcserver.Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	st := s.State(func() any { return &tokenState{} }).(*tokenState)
	st.mu.Lock()
	defer st.mu.Unlock()
	switch req.Method {
	case "auth":
		var p struct{ Token string }
		json.Unmarshal(req.Params, &p)
		st.tokens = append(st.tokens, p.Token)
		done(&jsonrpc.Response{Result: json.RawMessage(`true`)})
	case "tokens":
		b, _ := json.Marshal(append([]string{}, st.tokens...))
		done(&jsonrpc.Response{Result: b})
	case "who":
		b, _ := json.Marshal(s.Info())
		done(&jsonrpc.Response{Result: b})
	default:
		done(&jsonrpc.Response{Error: rpcserver.MethodNotFound(req.Method)})
	}
}

type harness struct {
	relay  *testRelay
	client *Client
	srv    *rpcserver.Server
	cancel context.CancelFunc
	ran    chan error
}

func start(t testing.TB, d rpcserver.Dispatcher, set func(*Client)) *harness {
	t.Helper()
	pub, signer := deviceKey(t)
	r := newTestRelay(t, pub, false)
	srv := &rpcserver.Server{Dispatcher: d, Limits: rpcserver.Limits{MaxMessage: 4096}}
	c := &Client{URL: r.url(), Assert: signer(r.url()), Server: srv,
		MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if _, bench := t.(*testing.B); bench {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if set != nil {
		set(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{relay: r, client: c, srv: srv, cancel: cancel, ran: make(chan error, 1)}
	go func() { h.ran <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.ran; srv.Close() })
	return h
}

func result(t testing.TB, msg json.RawMessage) (json.RawMessage, *jsonrpc.Error) {
	t.Helper()
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *jsonrpc.Error  `json:"error"`
	}
	if err := json.Unmarshal(msg, &r); err != nil {
		t.Fatalf("answer %s: %v", msg, err)
	}
	return r.Result, r.Error
}

func wantTokens(t testing.TB, rc *relayConn, session, want string) {
	t.Helper()
	res, e := result(t, rc.call(t, session, `{"jsonrpc":"2.0","id":1,"method":"tokens"}`))
	if e != nil || string(res) != want {
		t.Fatalf("session %s holds %s (%v), want %s", session, res, e, want)
	}
}

func TestSessionsIsolated(t *testing.T) {
	h := start(t, tokenDispatcher{}, nil)
	rc := h.relay.next(t)
	rc.call(t, "a", `{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"tok-a"}}`)
	wantTokens(t, rc, "b", `[]`)
	wantTokens(t, rc, "a", `["tok-a"]`)
	res, _ := result(t, rc.call(t, "b", `{"jsonrpc":"2.0","id":1,"method":"who"}`))
	var info rpcserver.ConnInfo
	json.Unmarshal(res, &info)
	if info.Via != "relay" || info.Remote != "b" || info.Creds.UID != -1 {
		t.Fatalf("relay session identity %s", res)
	}
	if n := h.client.State().Sessions; n != 2 {
		t.Fatalf("State().Sessions = %d, want 2", n)
	}
}

func TestSessionCloseDropsState(t *testing.T) {
	h := start(t, tokenDispatcher{}, nil)
	rc := h.relay.next(t)
	rc.call(t, "a", `{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"tok-a"}}`)
	rc.close(t, "a")
	waitFor(t, "session a dropped", func() bool { return h.client.State().Sessions == 0 && h.srv.Sessions() == 0 })
	wantTokens(t, rc, "a", `[]`) // the same id is a new session
}

func TestBadFramesHarmNoSession(t *testing.T) {
	h := start(t, tokenDispatcher{}, nil)
	rc := h.relay.next(t)
	rc.call(t, "a", `{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"tok-a"}}`)
	big := strings.Repeat("x", 8000)
	for _, bad := range []string{
		`not json`,
		`[]`,
		`{"session":"","message":{}}`,
		`{"session":"a"}`,
		`{"session":"a","message":null}`,
		`{"session":"a","message":{"jsonrpc":"2.0","id":2,"method":"tokens"},"close":true}`,
		`{"session":7,"message":{}}`,
		`{"session":"` + strings.Repeat("s", MaxSessionID+1) + `","message":{}}`,
		`{"message":{"jsonrpc":"2.0","id":1,"method":"x","params":["` + big + `"]},"session":"a"}`, // oversized, id not first
	} {
		rc.sendRaw(t, websocket.MessageText, []byte(bad))
	}
	rc.sendRaw(t, websocket.MessageBinary, []byte(`{"session":"a","close":true}`))
	// Oversized with the session first: that session is told, and lives.
	rc.send(t, "a", `{"jsonrpc":"2.0","id":3,"method":"auth","params":{"token":"`+big+`"}}`)
	f := rc.recv(t)
	if _, e := result(t, f.Message); f.Session != "a" || e == nil || e.Code != int(errs.TooLarge) {
		t.Fatalf("oversized frame answered with %+v", f)
	}
	// The malformed frames produced no answer and left a's token in place.
	wantTokens(t, rc, "a", `["tok-a"]`)
	wantTokens(t, rc, "b", `[]`)
	// A frame exactly at the message limit still goes through.
	pad := 4096 - len(`{"jsonrpc":"2.0","id":4,"method":"auth","params":{"token":""}}`)
	res, e := result(t, rc.call(t, "a", `{"jsonrpc":"2.0","id":4,"method":"auth","params":{"token":"`+strings.Repeat("y", pad)+`"}}`))
	if e != nil || string(res) != "true" {
		t.Fatalf("message at the limit: %s %v", res, e)
	}
}

func TestRedialAfterKill(t *testing.T) {
	h := start(t, tokenDispatcher{}, nil)
	rc := h.relay.next(t)
	rc.call(t, "a", `{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"tok-a"}}`)
	if st := h.client.State(); !st.Connected || st.Redials != 0 || st.Sessions != 1 {
		t.Fatalf("state before the kill: %+v", st)
	}
	rc.c.CloseNow() // the relay kills the tunnel
	rc2 := h.relay.next(t)
	waitFor(t, "the state to show the redial", func() bool {
		st := h.client.State()
		return st.Connected && st.Redials >= 1 && st.LastError == ""
	})
	if n := h.srv.Sessions(); n != 0 {
		t.Fatalf("%d sessions survived the tunnel drop", n)
	}
	wantTokens(t, rc2, "a", `[]`)
	if n := h.relay.handshakes.Load(); n != 2 {
		t.Fatalf("%d handshakes, want 2", n)
	}
}

func TestAssertionRefused(t *testing.T) {
	_, otherSigner := deviceKey(t) // a key the relay does not know
	h := start(t, tokenDispatcher{}, func(c *Client) { c.Assert = otherSigner(c.URL) })
	waitFor(t, "two refused dials", func() bool { return h.relay.refused.Load() >= 2 })
	st := h.client.State()
	if st.Connected || st.Redials < 1 || !strings.Contains(st.LastError, "401") {
		t.Fatalf("state after refused dials: %+v", st)
	}
}

func TestSessionLimit(t *testing.T) {
	h := start(t, tokenDispatcher{}, func(c *Client) { c.MaxSessions = 2 })
	rc := h.relay.next(t)
	wantTokens(t, rc, "a", `[]`)
	wantTokens(t, rc, "b", `[]`)
	rc.send(t, "c", `{"jsonrpc":"2.0","id":1,"method":"tokens"}`)
	f := rc.recv(t)
	if _, e := result(t, f.Message); f.Session != "c" || e == nil || e.Code != int(errs.RateLimited) {
		t.Fatalf("third session got %+v", f)
	}
	if f := rc.recv(t); f.Session != "c" || !f.Close {
		t.Fatalf("third session not closed: %+v", f)
	}
	wantTokens(t, rc, "a", `[]`)
}

func TestRouterEndedSessionTellsRelay(t *testing.T) {
	h := start(t, tokenDispatcher{}, nil)
	rc := h.relay.next(t)
	wantTokens(t, rc, "a", `[]`)
	go h.srv.Close()
	if f := rc.recv(t); f.Session != "a" || !f.Close {
		t.Fatalf("got %+v, want session a closed", f)
	}
}

func TestRouterThroughRelay(t *testing.T) {
	r := router.New(router.Options{
		OwnerUID: os.Geteuid(),
		Backends: []router.Backend{{Name: "file", Enabled: true, Socket: filepath.Join(t.TempDir(), "file.sock")}},
	})
	h := start(t, r, nil)
	rc := h.relay.next(t)
	if res, e := result(t, rc.call(t, "s1", `{"jsonrpc":"2.0","id":1,"method":"ping"}`)); e != nil || string(res) != `{"pong":true}` {
		t.Fatalf("ping: %s %v", res, e)
	}
	// No token: only ping, echo and auth answer over the relay.
	for _, m := range []string{"whoami", "services", "rpc.methods"} {
		if _, e := result(t, rc.call(t, "s1", `{"jsonrpc":"2.0","id":2,"method":"`+m+`"}`)); e == nil || e.Code != int(errs.Unauthorized) {
			t.Fatalf("%s without a token: %v", m, e)
		}
	}
	if _, e := result(t, rc.call(t, "s1", `{"jsonrpc":"2.0","id":3,"method":"file.read","params":{"path":"/etc/hostname"}}`)); e == nil || e.Code != int(errs.Unauthorized) {
		t.Fatalf("file.read without a token: %v", e)
	}
	for _, m := range []string{"token.issue", "token.revoke", "approvals.list", "approvals.approve", "config.get", "config.set"} {
		_, e := result(t, rc.call(t, "s1", `{"jsonrpc":"2.0","id":4,"method":"`+m+`","params":{}}`))
		if e == nil || (e.Code != int(errs.NoMethod) && e.Code != int(errs.Forbidden)) {
			t.Errorf("%s over the relay: %v", m, e)
		}
	}
	// A batch in one frame is answered in one frame.
	msg := rc.call(t, "s2", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]}]`)
	var arr []json.RawMessage
	if err := json.Unmarshal(msg, &arr); err != nil || len(arr) != 2 {
		t.Fatalf("batch answer %s", msg)
	}
}

func TestTLSRelay(t *testing.T) {
	pub, signer := deviceKey(t)
	r := newTestRelay(t, pub, true)
	srv := &rpcserver.Server{Dispatcher: tokenDispatcher{}}
	defer srv.Close()
	c := &Client{URL: r.url(), Assert: signer(r.url()), Server: srv, HTTPClient: r.srv.Client()}
	if !strings.HasPrefix(c.URL, "wss://") {
		t.Fatalf("URL %s", c.URL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	wantTokens(t, r.next(t), "a", `[]`)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := c.State(); st.Connected {
		t.Fatalf("still connected after stop: %+v", st)
	}
}

func TestCheckURL(t *testing.T) {
	for u, want := range map[string]errs.Kind{
		"wss://relay.example/tunnel": 0,
		"ws://127.0.0.1:9/t":         0,
		"ws://[::1]:9/t":             0,
		"ws://localhost/t":           0,
		"ws://relay.example/tunnel":  errs.Forbidden,
		"ws://10.0.0.1/t":            errs.Forbidden,
		"https://relay.example/":     errs.InvalidParams,
		"wss://":                     errs.InvalidParams,
		"::":                         errs.InvalidParams,
	} {
		err := CheckURL(u)
		if (err == nil) != (want == 0) || (err != nil && errs.KindOf(err) != want) {
			t.Errorf("CheckURL(%q) = %v, want kind %v", u, err, want)
		}
		if err != nil && errs.HintOf(err) == "" {
			t.Errorf("CheckURL(%q): no hint", u)
		}
	}
	c := &Client{URL: "ws://relay.example/", Assert: func() (string, error) { return "", nil }, Server: &rpcserver.Server{}}
	if err := c.Run(context.Background()); errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("Run with a plaintext non-loopback URL: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 3*time.Second
	for _, r := range []float64{0, 0.5, math.Nextafter(1, 0)} {
		prev := time.Duration(0)
		for attempt := 0; attempt < 70; attempt++ {
			d := backoff(attempt, lo, hi, func() float64 { return r })
			ceil := lo
			for i := 0; i < attempt && ceil < hi; i++ {
				ceil *= 2
			}
			ceil = min(ceil, hi)
			if d < ceil/2 || d > ceil {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, ceil/2, ceil)
			}
			if d < prev {
				t.Fatalf("attempt %d: %v shorter than the one before (%v) for the same jitter", attempt, d, prev)
			}
			prev = d
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
