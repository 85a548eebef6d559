package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// HTTPPath is where the streamable HTTP transport is served on the local
// entry, and MetadataPath its OAuth protected resource metadata (RFC 9728),
// which the 401's WWW-Authenticate names.
const (
	HTTPPath     = "/mcp"
	MetadataPath = "/.well-known/oauth-protected-resource/mcp"
)

// Via is the transport name of the HTTP transport's router sessions, and
// so what their audit records say.
const Via = "mcp"

// maxTokens bounds the tokens one request may carry (one per audience).
const maxTokens = 8

// maxHTTPBody bounds one request's body, as the stdio transport bounds a
// line.
const maxHTTPBody = MaxMessage

// HTTPOptions configures the streamable HTTP transport.
type HTTPOptions struct {
	// Sessions is the entry's rpcserver.Server: each token set's router
	// session is one of its sessions (uid -1, Via "mcp"), counted against
	// its connection limit.
	Sessions *rpcserver.Server
	Version  string
	Log      *slog.Logger
}

// HTTPHandler serves MCP's streamable HTTP transport, stateless (the
// 2026-07-28 revision; a 2025 client's initialize and Mcp-Session-Id-less
// requests work the same way). Each request carries its tokens in
// "Authorization: Bearer T1 [T2…]" (several separated by spaces, at most
// one per service); they are authenticated with the router on a router
// session of their own with no OS identity, so nothing reaching this
// handler is ever the owner. That session and the server built on it are
// kept for the next request with exactly the same tokens, for a short
// while (httpcache.go). A request without a token, or whose token the
// router refuses, is 401 with WWW-Authenticate.
//
// The handler checks neither Host nor Origin: the entry in front of it
// (core/wsentry) does, for every path.
func HTTPHandler(o HTTPOptions) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	// The SDK logs every stateless request's session at Info ("server
	// session connected", "disconnected"): a formatted line per request,
	// a few per cent of the entry's CPU and nothing an owner reads.
	o.Log = slog.New(warnOnly{o.Log.Handler()})
	h := &httpHandler{o: o, cache: newServerCache()}
	h.sdk = mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		s, _ := r.Context().Value(serverKey{}).(*Server)
		if s == nil {
			return nil
		}
		return s.mcp
	}, &mcp.StreamableHTTPOptions{Stateless: true, Logger: o.Log, MaxRequestBodyBytes: maxHTTPBody})
	return h
}

type serverKey struct{}

type httpHandler struct {
	o     HTTPOptions
	sdk   http.Handler
	cache *serverCache
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == MetadataPath {
		h.metadata(w, r)
		return
	}
	tokens, why := bearerTokens(r)
	if why != "" {
		h.unauthorized(w, r, "invalid_request", why)
		return
	}
	if len(tokens) == 0 {
		h.unauthorized(w, r, "", "this endpoint needs the agent's capability token: send \"Authorization: Bearer <token>\" (the owner makes one with `carapace token issue`)")
		return
	}
	if r.Method != http.MethodPost {
		// Stateless: no standalone stream (GET), no session to end
		// (DELETE). The SDK answers 405 for both.
		h.sdk.ServeHTTP(w, r)
		return
	}
	s, done, err := h.server(r, tokens)
	if err != nil {
		if k := errs.KindOf(err); k == errs.Unauthorized || k == errs.Forbidden {
			h.unauthorized(w, r, "invalid_token", refusal(err))
			return
		}
		http.Error(w, "carapace: "+refusal(err), http.StatusServiceUnavailable)
		return
	}
	defer done()
	h.sdk.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), serverKey{}, s)))
}

// server returns the server for the request's tokens: the one kept for
// exactly these tokens (httpcache.go), or a new one on a router session
// of its own, whose tokens the router authenticates now. done is called
// when the request is over.
func (h *httpHandler) server(r *http.Request, tokens []string) (*Server, func(), error) {
	if s, done, ok := h.cache.get(tokens); ok {
		return s, done, nil
	}
	remote := r.RemoteAddr
	s, err := New(r.Context(), Options{
		Tokens:  tokens,
		Version: h.o.Version,
		Log:     h.o.Log,
		Dial:    func(context.Context) (*client.Client, error) { return h.dial(remote) },
		viaSet:  true,
	})
	if err != nil {
		return nil, nil, err
	}
	return s, h.cache.put(tokens, s, s.link.expires()), nil
}

// bearerTokens returns the tokens of the Authorization header.
func bearerTokens(r *http.Request) ([]string, string) {
	a := r.Header.Get("Authorization")
	if a == "" {
		return nil, ""
	}
	scheme, rest, _ := strings.Cut(a, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, "the Authorization header must be \"Bearer <token>\" (several tokens separated by spaces)"
	}
	toks := strings.Fields(rest)
	if len(toks) > maxTokens {
		return nil, "at most " + strconv.Itoa(maxTokens) + " tokens, one per service"
	}
	if len(toks) == 0 {
		return nil, "the Authorization header must be \"Bearer <token>\""
	}
	return toks, ""
}

// unauthorized answers 401 with the challenge RFC 6750 and the MCP
// authorization specification ask for: the Bearer scheme and where the
// resource's metadata is.
func (h *httpHandler) unauthorized(w http.ResponseWriter, r *http.Request, code, why string) {
	c := `Bearer realm="carapace", resource_metadata="` + h.resource(r, MetadataPath) + `"`
	if code != "" {
		c += `, error="` + code + `", error_description=` + strconv.Quote(oneLine(why))
	}
	w.Header().Set("WWW-Authenticate", c)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("carapace: unauthorized: " + why + "\n"))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, `"`, "'")), " ")
}

// resource returns the absolute URL of path on this entry, from the Host
// the entry has already checked.
func (h *httpHandler) resource(r *http.Request, path string) string {
	return "http://" + r.Host + path
}

// metadata serves the protected resource metadata (RFC 9728). Carapace
// has no authorization server: tokens come from the owner (`carapace token
// issue`, `carapace agent`), so none is listed and a client must be given
// its token in its configuration.
func (h *httpHandler) metadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"resource":                 h.resource(r, HTTPPath),
		"resource_name":            "Carapace",
		"bearer_methods_supported": []string{"header"},
		"authorization_servers":    []string{},
		"resource_documentation":   "https://github.com/gimme-tools/carapace/blob/main/docs/mcp.md",
	})
}

// dial opens an in-process router session for one request: no uid, Via
// "mcp", the HTTP peer's address as its remote. The session ends when the
// client closes its end.
func (h *httpHandler) dial(remote string) (*client.Client, error) {
	mine, theirs := net.Pipe()
	info := rpcserver.ConnInfo{Creds: peer.Creds{UID: -1, GID: -1}, Via: Via, Remote: remote}
	send := func(msg []byte) error {
		_, err := theirs.Write(append(msg, '\n'))
		return err
	}
	sess, err := h.o.Sessions.NewSession(context.Background(), info, send)
	if err != nil {
		mine.Close()
		theirs.Close()
		return nil, err
	}
	sess.OnClose(func() { theirs.Close() })
	go func() {
		defer sess.Close()
		sc := bufio.NewScanner(theirs)
		sc.Buffer(nil, maxHTTPBody+1<<20)
		for sc.Scan() {
			sess.Handle(append([]byte(nil), sc.Bytes()...))
		}
	}()
	return client.New(mine), nil
}

// warnOnly passes on warnings and errors only.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }
func (h warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{h.Handler.WithGroup(g)} }
