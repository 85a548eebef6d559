package main

// End-to-end tests of the network entries through the real binary: the
// 127.0.0.1 WebSocket entry with a bearer token, and the outbound relay
// tunnel against a relay server run by the test.

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// freePort returns a loopback port nobody listens on (the entry binds it
// right after; a clash only fails the test).
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func wsCall(t *testing.T, ctx context.Context, c *websocket.Conn, req string) string {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(req)); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func issue(t *testing.T, d *devStack, aud, scope string) string {
	t.Helper()
	tok, errOut, code := d.cli("token", "issue", "--aud", aud, "--scope", scope, "--ttl", "10m")
	if code != 0 {
		t.Fatalf("token issue: %s", errOut)
	}
	return strings.TrimSpace(tok)
}

func TestWebSocketEntry(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, func(home string) {
			os.WriteFile(filepath.Join(home, "Docs", "a.txt"), []byte("over the wire"), 0o644)
		})
	tok := issue(t, d, "file", "GET:~/Docs/*")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A hostile page's handshake is refused before any JSON-RPC.
	_, resp, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("hostile origin: %v %v", err, resp)
	}

	// No token: the call is refused with -32001.
	anon, _, err := websocket.Dial(ctx, "ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.CloseNow()
	path := filepath.Join(d.home, "Docs", "a.txt")
	if got := wsCall(t, ctx, anon, `{"jsonrpc":"2.0","id":1,"method":"file.read","params":{"path":"`+path+`"}}`); !strings.Contains(got, "-32001") {
		t.Fatalf("no token: %s", got)
	}

	// A bearer token at the handshake reads the allowed file, and nothing
	// reachable here can mint or approve.
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := wsCall(t, ctx, c, `{"jsonrpc":"2.0","id":2,"method":"file.read","params":{"path":"`+path+`"}}`); !strings.Contains(got, "over the wire") {
		t.Fatalf("bearer read: %s", got)
	}
	for _, m := range []string{"token.issue", "token.revoke", "approvals.list", "approvals.decide", "config.reload"} {
		if got := wsCall(t, ctx, c, `{"jsonrpc":"2.0","id":3,"method":"`+m+`","params":{}}`); !strings.Contains(got, "-32003") && !strings.Contains(got, "-32601") {
			t.Errorf("%s over websocket: %s", m, got)
		}
	}
	out, _, _ := d.cli("status")
	if !strings.Contains(out, "websocket: listening on "+addr) {
		t.Errorf("status does not show the entry:\n%s", out)
	}
}

// testRelay is a relay server: it checks the device assertion at the
// handshake, then lets the test send session frames.
type testRelay struct {
	t     *testing.T
	pub   atomic.Pointer[ed25519.PublicKey] // nil until the test has read it
	conns chan *websocket.Conn
}

func (r *testRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	pub := r.pub.Load()
	if pub == nil {
		http.Error(w, "not paired yet", http.StatusServiceUnavailable)
		return
	}
	raw := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return *pub, nil }, jwt.WithValidMethods([]string{"EdDSA"}))
	if err != nil || !tok.Valid {
		http.Error(w, "bad assertion", http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{"carapace.relay.v1"}})
	if err != nil {
		return
	}
	r.conns <- c
	<-req.Context().Done()
}

func TestRelayTunnel(t *testing.T) {
	rl := &testRelay{t: t, conns: make(chan *websocket.Conn, 4)}
	srv := httptest.NewServer(rl)
	defer srv.Close()
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/tunnel"
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"relay: {url: \""+url+"\"}\n", nil, func(home string) {
			os.WriteFile(filepath.Join(home, "Docs", "r.txt"), []byte("via relay"), 0o644)
		})
	// The relay trusts this device's public key (as a cloud would, after
	// pairing): read it from the stack's state directory.
	pubPEM, err := os.ReadFile(filepath.Join(d.dir, "state", "device.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub := parseDevicePub(t, pubPEM)
	rl.pub.Store(&pub)
	tok := issue(t, d, "file", "GET:~/Docs/*")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var c *websocket.Conn
	select {
	case c = <-rl.conns:
	case <-ctx.Done():
		t.Fatal("the router never dialled the relay")
	}
	defer c.CloseNow()
	send := func(v any) {
		b, _ := json.Marshal(v)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() map[string]json.RawMessage {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		json.Unmarshal(b, &m)
		return m
	}
	path := filepath.Join(d.home, "Docs", "r.txt")
	msg := func(id int, method string, params any) json.RawMessage {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		return b
	}
	// Session a authenticates and reads; session b, on the same tunnel,
	// holds no token and is refused; neither may mint.
	send(map[string]any{"session": "a", "message": msg(1, "auth", map[string]string{"token": tok})})
	if m := recv(); !strings.Contains(string(m["message"]), `"result"`) {
		t.Fatalf("auth over relay: %s", m["message"])
	}
	send(map[string]any{"session": "a", "message": msg(2, "file.read", map[string]string{"path": path})})
	if m := recv(); !strings.Contains(string(m["message"]), "via relay") {
		t.Fatalf("read over relay: %s", m["message"])
	}
	send(map[string]any{"session": "b", "message": msg(3, "file.read", map[string]string{"path": path})})
	if m := recv(); string(m["session"]) != `"b"` || !strings.Contains(string(m["message"]), "-32001") {
		t.Fatalf("session b used a's token: %s %s", m["session"], m["message"])
	}
	send(map[string]any{"session": "a", "message": msg(4, "token.issue", map[string]any{"aud": "file", "scope": []string{"GET:~/Docs/*"}, "ttl_seconds": 60})})
	if m := recv(); !strings.Contains(string(m["message"]), "-32003") {
		t.Fatalf("minting over relay: %s", m["message"])
	}
	out, _, _ := d.cli("status")
	if !strings.Contains(out, "relay: "+url+" connected") {
		t.Errorf("status does not show the relay:\n%s", out)
	}
}

// parseDevicePub reads device.pub: {"device_id", "public_key": base64}.
func parseDevicePub(t *testing.T, b []byte) ed25519.PublicKey {
	t.Helper()
	var j struct {
		Key string `json:"public_key"`
	}
	if json.Unmarshal(b, &j) != nil {
		t.Fatalf("device.pub: %s", b)
	}
	k, err := base64.StdEncoding.DecodeString(j.Key)
	if err != nil || len(k) != ed25519.PublicKeySize {
		t.Fatalf("device.pub key: %v %s", err, b)
	}
	return k
}
