package wsentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// testEntry is an entry serving on a real loopback port.
type testEntry struct {
	*Entry
	srv  *rpcserver.Server
	addr string // 127.0.0.1:port
	port string
}

// newRouter returns a real router whose file service is enabled (its
// socket does not exist: a call that got past authorization would fail
// with -32007, not -32001).
func newRouter(t testing.TB) *router.Router {
	return router.New(router.Options{
		OwnerUID: os.Geteuid(),
		Backends: []router.Backend{{Name: "file", Enabled: true, Socket: filepath.Join(t.TempDir(), "file.sock")}},
	})
}

func startEntry(t testing.TB, d rpcserver.Dispatcher, limits rpcserver.Limits, set func(*Entry)) *testEntry {
	t.Helper()
	srv := &rpcserver.Server{Dispatcher: d, Limits: limits}
	e := &Entry{Server: srv}
	if set != nil {
		set(e)
	}
	l, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	go e.Serve(l)
	t.Cleanup(func() { e.Close(); srv.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return &testEntry{Entry: e, srv: srv, addr: l.Addr().String(), port: port}
}

func (te *testEntry) url() string { return "ws://" + te.addr + "/" }

func dial(t testing.TB, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// call sends one text frame and returns the next text frame.
func call(t testing.TB, c *websocket.Conn, msg string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v frame, want text", typ)
	}
	return b
}

type response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
}

func decode(t testing.TB, b []byte) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

func TestHandshakeRefusals(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, func(e *Entry) {
		e.AllowedOrigins = []string{"https://app.example"}
	})
	p := te.port
	tests := []struct {
		name             string
		host             string
		header           http.Header
		status           int
		body             string // substring of the refusal body
		wantUpgradeValid bool
	}{
		{name: "rebinding host", host: "evil.example:" + p, status: 403, body: "host_not_allowed"},
		{name: "loopback name, other port", host: "127.0.0.1:1", status: 403, body: "host_not_allowed"},
		{name: "no port", host: "127.0.0.1", status: 403, body: "host_not_allowed"},
		{name: "hostile origin", header: http.Header{"Origin": {"https://evil.example"}}, status: 403, body: "origin_not_allowed"},
		{name: "same-host origin is not special", header: http.Header{"Origin": {"http://127.0.0.1:" + p}}, status: 403, body: "origin_not_allowed"},
		{name: "null origin", header: http.Header{"Origin": {"null"}}, status: 403, body: "origin_not_allowed"},
		{name: "hostile referer", header: http.Header{"Referer": {"https://evil.example/page"}}, status: 403, body: "origin_not_allowed"},
		{name: "not bearer", header: http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, status: 400, body: "bad_authorization"},
		{name: "bearer with no hook", header: http.Header{"Authorization": {"Bearer abc.def.ghi"}}, status: 401, body: "bearer_unsupported"},
		{name: "huge bearer", header: http.Header{"Authorization": {"Bearer " + strings.Repeat("a", maxBearer+1)}}, status: 431, body: "token_too_large"},
		{name: "allowed origin", header: http.Header{"Origin": {"https://APP.example"}}, wantUpgradeValid: true},
		{name: "allowed referer", header: http.Header{"Referer": {"https://app.example/x?y"}}, wantUpgradeValid: true},
		{name: "localhost", host: "LocalHost:" + p, wantUpgradeValid: true},
		{name: "ipv6 loopback name", host: "[::1]:" + p, wantUpgradeValid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, te.url(), &websocket.DialOptions{Host: tt.host, HTTPHeader: tt.header})
			if tt.wantUpgradeValid {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer c.CloseNow()
				if r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)); r.Error != nil {
					t.Fatalf("ping: %v", r.Error)
				}
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("handshake accepted")
			}
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if !strings.HasPrefix(string(body), "carapace: "+tt.body+": ") {
				t.Fatalf("body %q does not say why", body)
			}
		})
	}
}

func TestRouterOverWebSocket(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, nil)
	c := dial(t, te.url(), nil)

	if r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)); string(r.Result) != `{"pong":true}` {
		t.Fatalf("ping: %+v", r)
	}
	if r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":"e","method":"echo","params":{"a":[1,2]}}`)); string(r.Result) != `{"a":[1,2]}` || string(r.ID) != `"e"` {
		t.Fatalf("echo: %+v", r)
	}
	// No token: whoami and services would tell a web page who the owner
	// is; only ping, echo and auth answer.
	for _, m := range []string{"whoami", "services", "rpc.methods"} {
		r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":2,"method":"`+m+`"}`))
		if r.Error == nil || r.Error.Code != int(errs.Unauthorized) || !strings.Contains(string(r.Error.Data), "token_required") {
			t.Fatalf("%s without a token: %s", m, mustJSON(r))
		}
	}
	r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":2,"method":"ping"}`))
	// No token: a service call is unauthenticated, although this process
	// is the owner's (the peer over TCP has no uid).
	r = decode(t, call(t, c, `{"jsonrpc":"2.0","id":3,"method":"file.read","params":{"path":"/etc/hostname"}}`))
	if r.Error == nil || r.Error.Code != int(errs.Unauthorized) {
		t.Fatalf("file.read without a token: %+v", r)
	}
	// Owner-only methods do not exist over this entry (-32601), or are
	// refused (-32003) once the router knows them.
	for _, m := range []string{"token.issue", "token.revoke", "approvals.list", "approvals.approve", "config.get", "config.set"} {
		r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":4,"method":"`+m+`","params":{}}`))
		if r.Error == nil || (r.Error.Code != int(errs.NoMethod) && r.Error.Code != int(errs.Forbidden)) {
			t.Errorf("%s over websocket: %s", m, mustJSON(r))
		}
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestBatchOverWebSocket(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, nil)
	c := dial(t, te.url(), nil)
	b := call(t, c, `[{"jsonrpc":"2.0","id":1,"method":"ping"},`+
		`{"jsonrpc":"2.0","method":"echo","params":[1]},`+
		`{"jsonrpc":"2.0","id":2,"method":"echo","params":[2]},`+
		`{"jsonrpc":"2.0","id":3,"method":"file.read"},`+
		`{"bad":true}]`)
	var rs []response
	if err := json.Unmarshal(b, &rs); err != nil {
		t.Fatalf("batch answer %s: %v", b, err)
	}
	if len(rs) != 4 {
		t.Fatalf("got %d responses, want 4 (the notification gets none): %s", len(rs), b)
	}
	if string(rs[0].Result) != `{"pong":true}` || string(rs[1].Result) != `[2]` ||
		rs[2].Error == nil || rs[2].Error.Code != -32001 || rs[3].Error == nil || rs[3].Error.Code != -32600 {
		t.Fatalf("batch answer: %s", b)
	}
	// A parse error is answered, and the connection goes on.
	if r := decode(t, call(t, c, `{"jsonrpc":`)); r.Error == nil || r.Error.Code != -32700 {
		t.Fatalf("parse error: %s", mustJSON(r))
	}
	if r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":9,"method":"ping"}`)); r.Error != nil {
		t.Fatalf("ping after a parse error: %v", r.Error)
	}
}

// closeOf waits for the connection to end and returns the close frame the
// server sent.
func closeOf(t *testing.T, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

func TestBinaryFrameCloses1003(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, nil)
	c := dial(t, te.url(), nil)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	ce := closeOf(t, c)
	if ce.Code != websocket.StatusUnsupportedData || !strings.Contains(ce.Reason, "text frame") {
		t.Fatalf("close %d %q, want 1003 naming text frames", ce.Code, ce.Reason)
	}
}

func TestOversizedFrameCloses1009(t *testing.T) {
	const max = 1024
	te := startEntry(t, newRouter(t), rpcserver.Limits{MaxMessage: max}, nil)
	c := dial(t, te.url(), nil)
	// Exactly at the limit is fine.
	pad := max - len(`{"jsonrpc":"2.0","id":1,"method":"echo","params":[""]}`)
	msg := `{"jsonrpc":"2.0","id":1,"method":"echo","params":["` + strings.Repeat("x", pad) + `"]}`
	if len(msg) != max {
		t.Fatalf("test message is %d bytes", len(msg))
	}
	if r := decode(t, call(t, c, msg)); r.Error != nil {
		t.Fatalf("message at the limit: %v", r.Error)
	}
	if err := c.Write(context.Background(), websocket.MessageText, []byte(msg+" ")); err != nil {
		t.Fatal(err)
	}
	ce := closeOf(t, c)
	if ce.Code != websocket.StatusMessageTooBig || !strings.Contains(ce.Reason, "at most 1024 bytes") {
		t.Fatalf("close %d %q, want 1009 naming the limit", ce.Code, ce.Reason)
	}
}

// tokenDispatcher is a stand-in for the router's token store: auth and
// the bearer hook put a token in the session's state; "tokens" lists them.
type tokenDispatcher struct{}

type tokenState struct {
	mu     sync.Mutex
	tokens []string
}

func stateOf(s *rpcserver.Session) *tokenState {
	return s.State(func() any { return &tokenState{} }).(*tokenState)
}

func (tokenDispatcher) Dispatch(s *rpcserver.Session, req *jsonrpc.Request, done func(*jsonrpc.Response)) {
	st := stateOf(s)
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
	case "slow":
		go func() { time.Sleep(3 * time.Second); done(&jsonrpc.Response{Result: json.RawMessage(`"slow"`)}) }()
	default:
		done(&jsonrpc.Response{Error: rpcserver.MethodNotFound(req.Method)})
	}
}

func bearerHook(s *rpcserver.Session, tok string) error {
	if tok == "refused" {
		return errs.E("auth", errs.Unauthorized, errs.Reason("bad_token"), errs.Hint("mint a new token"))
	}
	st := stateOf(s)
	st.mu.Lock()
	st.tokens = append(st.tokens, "bearer:"+tok)
	st.mu.Unlock()
	return nil
}

func TestBearerReachesOnlyItsSession(t *testing.T) {
	te := startEntry(t, tokenDispatcher{}, rpcserver.Limits{}, func(e *Entry) { e.OnBearer = bearerHook })
	a := dial(t, te.url(), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer tok-a"}}})
	b := dial(t, te.url(), nil)
	if r := decode(t, call(t, a, `{"jsonrpc":"2.0","id":1,"method":"tokens"}`)); string(r.Result) != `["bearer:tok-a"]` {
		t.Fatalf("session a holds %s", r.Result)
	}
	if r := decode(t, call(t, b, `{"jsonrpc":"2.0","id":1,"method":"tokens"}`)); string(r.Result) != `[]` {
		t.Fatalf("session b holds %s", r.Result)
	}
}

func TestRefusedBearerCloses1008(t *testing.T) {
	te := startEntry(t, tokenDispatcher{}, rpcserver.Limits{}, func(e *Entry) { e.OnBearer = bearerHook })
	c := dial(t, te.url(), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer refused"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, b); r.Error == nil || r.Error.Code != -32001 || !strings.Contains(string(r.Error.Data), "bad_token") {
		t.Fatalf("got %s, want -32001 bad_token", b)
	}
	if ce := closeOf(t, c); ce.Code != websocket.StatusPolicyViolation {
		t.Fatalf("close %d %q, want 1008", ce.Code, ce.Reason)
	}
}

func TestKeepalivePings(t *testing.T) {
	pings := make(chan struct{}, 100)
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, func(e *Entry) { e.PingInterval = 20 * time.Millisecond })
	c := dial(t, te.url(), &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool {
		pings <- struct{}{}
		return true
	}})
	ctx := c.CloseRead(context.Background()) // answer pings
	for range 3 {
		select {
		case <-pings:
		case <-ctx.Done():
			t.Fatal("connection ended while answering pings")
		case <-time.After(20 * time.Second):
			t.Fatal("no ping from the entry")
		}
	}
	if n := te.srv.Sessions(); n != 1 {
		t.Fatalf("%d sessions, want the answering peer still connected", n)
	}
}

func TestSilentPeerDropped(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{WriteTimeout: 50 * time.Millisecond},
		func(e *Entry) { e.PingInterval = 20 * time.Millisecond })
	dial(t, te.url(), nil) // never reads, so never answers a ping
	waitFor(t, "the silent peer dropped", func() bool { return te.srv.Sessions() == 0 })
}

func TestIdleTimeout(t *testing.T) {
	// The idle time is long enough that the call arrives before it ends
	// even on a busy machine; the slow call outlives it: waiting on an
	// answer is not idle.
	te := startEntry(t, tokenDispatcher{}, rpcserver.Limits{IdleTimeout: 2 * time.Second}, nil)
	c := dial(t, te.url(), nil)
	if r := decode(t, call(t, c, `{"jsonrpc":"2.0","id":1,"method":"slow"}`)); string(r.Result) != `"slow"` {
		t.Fatalf("slow call: %s", mustJSON(r))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, b); r.Error == nil || r.Error.Code != int(errs.Timeout) {
		t.Fatalf("got %s, want an idle_timeout error", b)
	}
	if ce := closeOf(t, c); ce.Code != websocket.StatusNormalClosure {
		t.Fatalf("close %d %q, want 1000", ce.Code, ce.Reason)
	}
}

func TestServerCloseSays1001(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{}, nil)
	c := dial(t, te.url(), nil)
	call(t, c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	go te.srv.Close()
	if ce := closeOf(t, c); ce.Code != websocket.StatusGoingAway {
		t.Fatalf("close %d %q, want 1001", ce.Code, ce.Reason)
	}
}

func TestConnectionLimit(t *testing.T) {
	te := startEntry(t, newRouter(t), rpcserver.Limits{MaxConns: 1}, nil)
	a := dial(t, te.url(), nil)
	call(t, a, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	b := dial(t, te.url(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, msg, err := b.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := decode(t, msg); r.Error == nil || r.Error.Code != int(errs.RateLimited) {
		t.Fatalf("second connection got %s", msg)
	}
	if ce := closeOf(t, b); ce.Code != websocket.StatusTryAgainLater {
		t.Fatalf("close %d, want 1013", ce.Code)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestListen(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		l, err := Listen(addr, false)
		if err == nil {
			l.Close()
			t.Errorf("Listen(%q) bound %v without the override", addr, l.Addr())
			continue
		}
		if errs.KindOf(err) != errs.Forbidden || !strings.Contains(errs.HintOf(err), OverrideKey) {
			t.Errorf("Listen(%q): %v (hint %q), want Forbidden naming %s", addr, err, errs.HintOf(err), OverrideKey)
		}
	}
	l, err := Listen("localhost:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("localhost bound as %v, want 127.0.0.1", ip)
	}
	l2, err := Listen("0.0.0.0:0", true)
	if err != nil {
		t.Fatalf("with the override: %v", err)
	}
	l2.Close()
	if _, err := Listen("7001", false); errs.KindOf(err) != errs.InvalidParams {
		t.Fatalf("Listen(7001): %v, want InvalidParams", err)
	}
}

func ExampleListen() {
	l, err := Listen("0.0.0.0:7001", false)
	fmt.Println(l == nil, errs.ReasonOf(err))
	// Output: true not_loopback
}
