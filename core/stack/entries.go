package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gimme-tools/carapace/core/mcpserver"
	"github.com/gimme-tools/carapace/core/relay"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/wsentry"
)

// DefaultWebSocket is where `carapace dev --websocket` listens.
const DefaultWebSocket = "127.0.0.1:7001"

// Entries are the network entries a stack runs besides its Unix socket:
// the 127.0.0.1 WebSocket entry and the outbound relay tunnel. Each has its
// own rpcserver.Server, so their peers count against their own limits; both
// mark their sessions with uid -1 and their Via, so they are never the
// owner and never reach token.*, approvals.* or config.*.
type Entries struct {
	ws     *wsentry.Running
	relay  *relay.Client
	cancel context.CancelFunc
}

// StartEntries starts what the system config asks for (websocket.listen,
// relay.url). A bearer token at the WebSocket handshake is held for the
// session exactly as an `auth` call would hold it.
func StartEntries(ctx context.Context, st *Settings, r *router.Router, z *Authz) (*Entries, error) {
	e := &Entries{}
	ctx, e.cancel = context.WithCancel(ctx)
	r.SetEntries(e.Status)
	if st.System.WS.Listen != "" {
		mcp := func(sessions *rpcserver.Server) http.Handler {
			return mcpserver.HTTPHandler(mcpserver.HTTPOptions{Sessions: sessions, Log: st.Log})
		}
		ws, err := wsentry.Start(st.System.WS, r, st.Limits(), r.Authenticate, mcp, st.Log)
		if err != nil {
			e.cancel()
			return nil, err
		}
		e.ws = ws
		st.log().Info("websocket entry listening", "addr", ws.Status().Listen)
	}
	if u := st.System.Relay.URL; u != "" {
		e.relay = &relay.Client{
			URL:    u,
			Assert: z.assertion(u),
			Server: &rpcserver.Server{Dispatcher: r, Limits: st.Limits(), Log: st.Log, Via: relay.Via},
			Log:    st.Log,
		}
		go func() {
			if err := e.relay.Run(ctx); err != nil && ctx.Err() == nil {
				st.log().Error("relay tunnel stopped", "url", u, "err", err)
			}
		}()
	}
	return e, nil
}

// Close stops both entries.
func (e *Entries) Close() {
	if e == nil {
		return
	}
	e.cancel()
	if e.ws != nil {
		e.ws.Close()
	}
}

// Status reports the entries for the router's `services` method.
func (e *Entries) Status() any {
	out := map[string]any{}
	if e == nil {
		return out
	}
	if e.ws != nil {
		out["websocket"] = e.ws.Status()
	}
	if e.relay != nil {
		out["relay"] = e.relay.State()
	}
	return out
}

// assertion returns the relay's Assert hook: a one-minute EdDSA JWT signed
// by the device key, naming the device, for the relay's URL only.
func (z *Authz) assertion(aud string) func() (string, error) {
	return func() (string, error) {
		var jti [12]byte
		rand.Read(jti[:])
		now := time.Now()
		claims := jwt.MapClaims{
			"iss": "urn:carapace:device:" + z.key.ID, "sub": z.key.ID, "device_id": z.key.ID,
			"aud": aud, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": hex.EncodeToString(jti[:]),
		}
		t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		t.Header["kid"] = z.key.ID
		return t.SignedString(z.key.Key)
	}
}
