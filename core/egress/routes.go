package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/redact"
)

// A credential route lets a command use a credential it never holds: the
// command asks http://127.0.0.1:<proxy port>/<route>/<path> and the proxy
// sends the request to the route's upstream, <upstream>/<path>, with the
// route's header — the owner's stored secret in it — added on the way
// out. The command's own headers cannot replace it, the upstream's host
// is the route's whatever the path or the Host header say, and the
// secret is cut out of the response before the command reads it.
//
// Routes knows nothing of where secrets are stored or where the proxy
// runs: its caller hands it each route with the secret filled in
// (Route.WithSecret).

// SecretField is what stands for the secret in a route's header value.
const SecretField = "{secret}"

// Route is one credential route.
type Route struct {
	Name     string
	Upstream *url.URL // scheme https (or http), host, optional base path
	Header   string   // the header's canonical name
	template string   // the header's value as the owner wrote it, with {secret}
	value    string   // the header's value: the template, or the secret filled in
	secret   string   // the secret, "" until WithSecret
}

var routeName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ParseRoute checks a route as the owner writes it: a name of lower-case
// letters, digits and dashes; an https:// upstream (http:// only to a
// loopback address) with a host and no user, query or fragment; a header "Name: value" whose value holds
// {secret} once.
func ParseRoute(name, upstream, header string) (Route, error) {
	if !routeName.MatchString(name) {
		return Route{}, fmt.Errorf("route name %q: use lower-case letters, digits and dashes", name)
	}
	u, err := url.Parse(upstream)
	if err != nil {
		return Route{}, fmt.Errorf("upstream %q: %v", upstream, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Route{}, fmt.Errorf("upstream %q: expected https://host[:port][/base path], without user, query or fragment", upstream)
	}
	t, err := ParseTarget(u.Hostname(), 443)
	if err != nil {
		return Route{}, fmt.Errorf("upstream %q: %v", upstream, err)
	}
	if u.Scheme == "http" && !(t.Addr.IsValid() && t.Addr.IsLoopback()) {
		return Route{}, fmt.Errorf("upstream %q: plain http only to a loopback address (the secret would cross the network in clear): use https://", upstream)
	}
	k, v, ok := strings.Cut(header, ":")
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if !ok || k == "" || strings.ContainsAny(k, " \t\r\n()<>@,;\\\"/[]?={}") {
		return Route{}, fmt.Errorf("header %q: expected \"Name: value with {secret}\"", header)
	}
	if strings.Count(v, SecretField) != 1 || strings.ContainsAny(v, "\r\n") {
		return Route{}, fmt.Errorf("header %q: the value must hold %s exactly once", header, SecretField)
	}
	k = http.CanonicalHeaderKey(k)
	if hopHeader(k) || k == "Host" || k == "Content-Length" {
		return Route{}, fmt.Errorf("header %q: %s is the proxy's to set", header, k)
	}
	return Route{Name: name, Upstream: u, Header: k, template: v, value: v}, nil
}

// WithSecret returns r with the secret in its header. A secret holding a
// line break, or shorter than 4 bytes, is refused: the first would split
// the header, the second would be cut out of every response.
func (r Route) WithSecret(secret string) (Route, error) {
	if len(secret) < 4 || strings.ContainsAny(secret, "\r\n\x00") {
		return r, fmt.Errorf("secret for route %q: empty, shorter than 4 bytes or holding a line break", r.Name)
	}
	r.value = strings.Replace(r.value, SecretField, secret, 1)
	r.secret = secret
	return r, nil
}

// Secret returns the secret WithSecret filled in, for the caller to hand
// the redactor of the command's output.
func (r Route) Secret() string { return r.secret }

// Routes are the credential routes one command may use, by name.
type Routes struct {
	Routes map[string]Route
	// Missing are routes the owner set whose secret could not be had,
	// with why: a request for one is answered 503 and why, not 404.
	Missing map[string]string
	// Transport sends the requests upstream (default: TLS verified
	// against the system's roots, no proxy, 30 s to connect).
	Transport http.RoundTripper
}

var defaultTransport = &http.Transport{
	DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
	TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	TLSHandshakeTimeout:   dialTimeout,
	ResponseHeaderTimeout: 5 * time.Minute,
	MaxIdleConnsPerHost:   4,
	IdleConnTimeout:       90 * time.Second,
}

// claims reports whether req, read on c, is for the routes: a request in
// origin form (GET /github/…, what a client that does not use the proxy
// sends to 127.0.0.1:<port>), or in absolute form to the proxy's own
// address (what one that uses the proxy for every host sends).
func (rs *Routes) claims(c net.Conn, req *http.Request) bool {
	if rs == nil || req.Method == http.MethodConnect {
		return false
	}
	if strings.HasPrefix(req.RequestURI, "/") {
		return true
	}
	u := req.URL
	if !u.IsAbs() || u.Scheme != "http" {
		return false
	}
	local, ok := c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := splitHostPort(u.Host)
	if err != nil || int(port) != local.Port {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// serve answers one route request on c: it checks the route and the
// path, sends the request upstream with the route's header and copies
// the answer back with the secret cut out. One request per connection.
func (rs *Routes) serve(c net.Conn, req *http.Request, rec *Record) error {
	rec.Method = req.Method
	r, out, err := rs.target(req)
	if r.Name != "" {
		rec.Route, rec.Host, rec.Port = r.Name, r.Upstream.Hostname(), portOf(r.Upstream)
	}
	if err != nil {
		return err
	}
	rec.Path = out.EscapedPath()
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		// curl waits a second for this before a large body otherwise; the
		// transport sends the body without asking the upstream.
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
	}
	up := &countReader{r: req.Body}
	var body io.Reader = up
	if req.ContentLength == 0 {
		body = nil
	}
	oreq, err := http.NewRequestWithContext(context.Background(), req.Method, out.String(), body)
	if err != nil {
		return refuse(http.StatusBadRequest, "route %s: %v", r.Name, err)
	}
	oreq.ContentLength = req.ContentLength
	for k, vs := range req.Header {
		if hopHeader(k) || k == "Host" || k == r.Header || k == "Accept-Encoding" || k == "Expect" || strings.HasPrefix(k, "Proxy-") {
			continue // Accept-Encoding: the transport asks for gzip and unpacks it, so the secret can be cut out
		}
		oreq.Header[k] = vs
	}
	oreq.Header.Set(r.Header, r.value)
	oreq.Close = true
	resp, err := rs.transport().RoundTrip(oreq)
	// The transport may still be sending the body when RoundTrip returns.
	defer func() { rec.Up += up.n.Load() }()
	if err != nil {
		return refuse(http.StatusBadGateway, "route %s: %s %s: %v", r.Name, req.Method, r.Upstream.Host, scrubString(err.Error(), r))
	}
	defer resp.Body.Close()
	rec.Status = resp.StatusCode
	rec.Decision, rec.Why = "allow", "route "+r.Name
	cw := &countWriter{w: c}
	writeResponseHead(cw, req, resp, r)
	if bodyAllowed(req, resp) {
		sw := newScrubber(cw, r)
		io.Copy(sw, resp.Body)
		sw.Close()
	}
	rec.Down += cw.n
	return nil
}

// target returns the route req names and the upstream URL it goes to:
// the route's scheme and host, its base path, then the rest of req's
// path as sent (still escaped) and its query. A path with a "." or ".."
// segment, escaped or not, or a backslash is refused: it could climb out
// of the base path at the upstream. Whatever the path holds ("@", "//",
// a scheme), the host is the route's: the URL is checked after it is
// built.
func (rs *Routes) target(req *http.Request) (Route, *url.URL, error) {
	p := req.URL.EscapedPath()
	name, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	r, ok := rs.Routes[name]
	if why, missing := rs.Missing[name]; missing && !ok {
		return Route{}, nil, refuse(http.StatusServiceUnavailable, "route %q has no secret: %s", name, why)
	}
	if !ok {
		return Route{}, nil, refuse(http.StatusNotFound, "no route %q (the owner's routes are services.code.network.routes: %s)", name, strings.Join(rs.names(), ", "))
	}
	// Decoded whole: an escaped slash (%2F) must not hide a dot segment
	// from this check and show it to an upstream that decodes first.
	d, err := url.PathUnescape(rest)
	if err != nil || strings.ContainsAny(d, "\\\x00") {
		return r, nil, refuse(http.StatusBadRequest, "route %s: path %q refused (bad escape, backslash or NUL)", name, rest)
	}
	for _, seg := range strings.Split(d, "/") {
		if seg == "." || seg == ".." {
			return r, nil, refuse(http.StatusBadRequest, "route %s: path %q refused (no . or .. segments: a route stays below its upstream)", name, rest)
		}
	}
	base := strings.TrimSuffix(r.Upstream.EscapedPath(), "/")
	u, err := url.Parse(r.Upstream.Scheme + "://" + r.Upstream.Host + base + "/" + rest)
	if err != nil || u.Host != r.Upstream.Host || u.Scheme != r.Upstream.Scheme || u.User != nil {
		return r, nil, refuse(http.StatusBadRequest, "route %s: path %q does not stay at %s", name, rest, r.Upstream.Host)
	}
	u.RawQuery = req.URL.RawQuery
	return r, u, nil
}

func (rs *Routes) names() []string {
	var ns []string
	for n := range rs.Routes {
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return []string{"none"}
	}
	sort.Strings(ns)
	return ns
}

func (rs *Routes) transport() http.RoundTripper {
	if rs.Transport != nil {
		return rs.Transport
	}
	return defaultTransport
}

// writeResponseHead writes resp's status line and headers, less the
// hop-by-hop ones and the length (cutting the secret out may change it),
// with the secret cut out and Connection: close: the body ends with the
// connection.
func writeResponseHead(w io.Writer, req *http.Request, resp *http.Response, r Route) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	for k, vs := range resp.Header {
		if hopHeader(k) || k == "Content-Length" || k == "Content-Encoding" {
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, scrubString(v, r))
		}
	}
	b.WriteString("X-Carapace-Route: " + r.Name + "\r\nConnection: close\r\n\r\n")
	w.Write(b.Bytes())
}

func bodyAllowed(req *http.Request, resp *http.Response) bool {
	s := resp.StatusCode
	return req.Method != http.MethodHead && s != http.StatusNoContent && s != http.StatusNotModified && s >= 200
}

func hopHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate":
		return true
	}
	return false
}

func portOf(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

// placeholder is what the secret reads as in a response: the redactor's
// form, under the rule "route-<name>".
func (r Route) placeholder() string {
	return redact.Placeholder("route-"+r.Name, []byte(r.secret))
}

func scrubString(s string, r Route) string {
	if r.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, r.secret, r.placeholder())
}

// scrubber writes through to w with every occurrence of the route's
// secret replaced, holding back the last len(secret)-1 bytes, which may
// be the start of one cut by a read.
type scrubber struct {
	w           io.Writer
	secret, rep []byte
	held        []byte
}

func newScrubber(w io.Writer, r Route) *scrubber {
	return &scrubber{w: w, secret: []byte(r.secret), rep: []byte(r.placeholder())}
}

func (s *scrubber) Write(p []byte) (int, error) {
	if len(s.secret) == 0 {
		return s.w.Write(p)
	}
	buf := bytes.ReplaceAll(append(s.held, p...), s.secret, s.rep)
	keep := min(len(buf), len(s.secret)-1)
	out := buf[:len(buf)-keep]
	s.held = append(s.held[:0:0], buf[len(buf)-keep:]...)
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes what is held back.
func (s *scrubber) Close() error {
	_, err := s.w.Write(s.held)
	s.held = nil
	return err
}

type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
