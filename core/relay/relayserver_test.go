package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// testRelay is a small relay server: it checks the device assertion at the
// handshake the way a cloud relay would, and hands each tunnel to the test.
type testRelay struct {
	srv        *httptest.Server
	device     ed25519.PublicKey
	tunnels    chan *relayConn
	handshakes atomic.Int32
	refused    atomic.Int32
}

const testDevice = "device-test"

func newTestRelay(t testing.TB, device ed25519.PublicKey, tls bool) *testRelay {
	r := &testRelay{device: device, tunnels: make(chan *relayConn, 8)}
	h := http.HandlerFunc(r.serve)
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *testRelay) url() string {
	return strings.Replace(r.srv.URL, "http", "ws", 1) + "/tunnel"
}

func (r *testRelay) serve(w http.ResponseWriter, req *http.Request) {
	r.handshakes.Add(1)
	if err := r.checkAssertion(req); err != nil {
		r.refused.Add(1)
		http.Error(w, "assertion refused: "+err.Error(), http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, req, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return
	}
	c.SetReadLimit(-1)
	rc := &relayConn{c: c, in: make(chan []byte, 1024), done: make(chan struct{})}
	r.tunnels <- rc
	defer close(rc.done)
	for {
		_, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		rc.in <- b
	}
}

// checkAssertion verifies the router's device assertion: EdDSA only,
// signed by the registered device key, naming the device, not expired.
func (r *testRelay) checkAssertion(req *http.Request) error {
	tok, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return r.device, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithExpirationRequired(), jwt.WithAudience(r.url()))
	if err != nil {
		return err
	}
	if claims["device_id"] != testDevice {
		return jwt.ErrTokenInvalidClaims
	}
	return nil
}

// next waits for the next tunnel the router opens.
func (r *testRelay) next(t testing.TB) *relayConn {
	t.Helper()
	select {
	case rc := <-r.tunnels:
		return rc
	case <-time.After(30 * time.Second):
		t.Fatal("the router did not dial the relay")
		return nil
	}
}

// relayConn is the relay's end of one tunnel.
type relayConn struct {
	c    *websocket.Conn
	in   chan []byte
	done chan struct{}
}

func (rc *relayConn) sendRaw(t testing.TB, typ websocket.MessageType, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.c.Write(ctx, typ, b); err != nil {
		t.Fatalf("relay write: %v", err)
	}
}

func (rc *relayConn) send(t testing.TB, session, msg string) {
	t.Helper()
	rc.sendRaw(t, websocket.MessageText, appendMessage(nil, session, []byte(msg)))
}

func (rc *relayConn) close(t testing.TB, session string) {
	t.Helper()
	rc.sendRaw(t, websocket.MessageText, appendClose(nil, session))
}

// recv returns the next frame from the router.
func (rc *relayConn) recv(t testing.TB) Frame {
	t.Helper()
	select {
	case b := <-rc.in:
		var f Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("router sent %q: %v", b, err)
		}
		return f
	case <-time.After(30 * time.Second):
		t.Fatal("no frame from the router")
		return Frame{}
	}
}

// call sends msg on session and returns the answer's message.
func (rc *relayConn) call(t testing.TB, session, msg string) json.RawMessage {
	t.Helper()
	rc.send(t, session, msg)
	f := rc.recv(t)
	if f.Session != session || f.Close {
		t.Fatalf("got %+v, want an answer on session %q", f, session)
	}
	return f.Message
}

// deviceKey returns a fresh device key pair and an Assert hook that signs
// a one-minute assertion for aud.
func deviceKey(t testing.TB) (ed25519.PublicKey, func(aud string) func() (string, error)) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, func(aud string) func() (string, error) {
		return func() (string, error) {
			now := time.Now()
			return jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
				"iss": testDevice, "sub": testDevice, "device_id": testDevice, "aud": aud,
				"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
			}).SignedString(priv)
		}
	}
}
