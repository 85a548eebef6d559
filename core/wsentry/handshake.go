package wsentry

import (
	"github.com/gimme-tools/carapace/core/errs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A refusal is why a handshake was turned down before upgrading: the HTTP
// status, a machine-readable reason, and a sentence for the body.
type refusal struct {
	status int
	reason errs.Reason
	why    string
}

// maxBearer bounds the Authorization header's token; a capability token is
// a few hundred bytes, and nothing bigger is worth parsing.
const maxBearer = 8 << 10

// checkHost refuses a Host header that is not one of this listener's own
// loopback names. A DNS-rebinding page reaches 127.0.0.1 under its own
// name (evil.example:7001), which it cannot hide from the Host header.
func checkHost(r *http.Request, local net.Addr) *refusal {
	_, port, err := net.SplitHostPort(addrString(local))
	if err != nil {
		return &refusal{http.StatusInternalServerError, errs.ReasonNoLocalAddr, "the entry could not tell its own address"}
	}
	if allowedHost(r.Host, port, local) {
		return nil
	}
	return &refusal{http.StatusForbidden, errs.ReasonHostNotAllowed,
		"Host " + strconv.Quote(r.Host) + " is not this entry's own name; use 127.0.0.1:" + port +
			", localhost:" + port + " or [::1]:" + port + " (DNS rebinding protection)"}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// allowedHost reports whether host names this listener: a loopback name
// with its port, or, when it listens on a non-loopback address (the loud
// override), that address literally.
func allowedHost(host, port string, local net.Addr) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		// No port: only valid for the default port.
		h, p = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "80"
	}
	if p != port {
		return false
	}
	switch strings.ToLower(h) {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	lh, _, _ := net.SplitHostPort(addrString(local))
	ip := net.ParseIP(lh)
	return ip != nil && !ip.IsLoopback() && ip.Equal(net.ParseIP(h))
}

// checkOrigin refuses a handshake whose Origin (or, without one, Referer)
// is present and not in allowed. Browsers always send Origin on a
// WebSocket handshake, so a page on another site is refused here
// (cross-site WebSocket hijacking); programs that send neither are let
// through to the token checks.
func checkOrigin(r *http.Request, allowed []string) *refusal {
	origin := r.Header.Get("Origin")
	header := "Origin"
	if origin == "" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return nil
		}
		header = "Referer"
		origin = originOf(ref)
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return nil
		}
	}
	return &refusal{http.StatusForbidden, errs.ReasonOriginNotAllowed,
		header + " " + strconv.Quote(origin) + " is not allowed to use this entry " +
			"(cross-site WebSocket hijacking protection); add it to websocket.allowed_origins if you trust that site"}
}

// originOf returns the scheme://host[:port] of a URL, or the URL itself
// when it does not parse (and so matches no allowed origin).
func originOf(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ref
	}
	return u.Scheme + "://" + u.Host
}

// bearer returns the token of an "Authorization: Bearer <token>" header,
// "" when there is none.
func bearer(r *http.Request) (string, *refusal) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", &refusal{http.StatusBadRequest, errs.ReasonBadAuthorization,
			"the Authorization header must be \"Bearer <token>\""}
	}
	if len(tok) > maxBearer {
		return "", &refusal{http.StatusRequestHeaderFieldsTooLarge, errs.ReasonTokenTooLarge,
			"the bearer token is over " + strconv.Itoa(maxBearer) + " bytes"}
	}
	return tok, nil
}

// refuse writes r as a plain-text HTTP response: "<reason>: <why>".
func (e *Entry) refuse(w http.ResponseWriter, req *http.Request, r *refusal) {
	e.log().Warn("websocket handshake refused", "remote", req.RemoteAddr, "host", req.Host,
		"origin", req.Header.Get("Origin"), "reason", r.reason, "status", r.status)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(r.status)
	w.Write([]byte("carapace: " + string(r.reason) + ": " + r.why + "\n"))
}
