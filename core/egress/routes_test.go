package egress

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	pathpkg "path"
	"strings"
	"sync"
	"testing"
	"time"
)

const routeSecret = "ghp_routeSecretValue0123456789abcdefXYZ"

// routeStand is an HTTPS upstream stand-in that records each request it
// gets (and echoes its Authorization header back, as a careless API
// might), and a proxy whose only route, "github", leads to it.
type routeStand struct {
	up      *httptest.Server
	proxy   string // host:port
	mu      sync.Mutex
	seen    []*http.Request
	records []Record
}

func newRouteStand(t *testing.T, base string) *routeStand {
	t.Helper()
	s := &routeStand{}
	s.up = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Clone(r.Context()))
		s.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		io.WriteString(w, "host="+r.Host+" path="+r.URL.EscapedPath()+" query="+r.URL.RawQuery+" body="+string(body)+" auth="+r.Header.Get("Authorization")+"\n")
	}))
	t.Cleanup(s.up.Close)
	r, err := ParseRoute("github", s.up.URL+base, "Authorization: Bearer {secret}")
	if err != nil {
		t.Fatal(err)
	}
	if r, err = r.WithSecret(routeSecret); err != nil {
		t.Fatal(err)
	}
	p := &Proxy{
		Routes: &Routes{Routes: map[string]Route{"github": r}, Transport: s.up.Client().Transport},
		Record: func(r Record) { s.mu.Lock(); s.records = append(s.records, r); s.mu.Unlock() },
	}
	s.proxy = serveProxy(t, p)
	return s
}

// send writes a raw request head (and body) to the proxy and returns the
// response as the command reads it, whole.
func (s *routeStand) send(t *testing.T, head string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", s.proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(c, head)
	raw, _ := io.ReadAll(c)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("%q: no response: %v (%q)", head, err, raw)
	}
	body, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(raw), routeSecret) {
		t.Errorf("%q: the command read the secret: %q", head, raw)
	}
	return resp, string(body)
}

func (s *routeStand) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.seen...)
}

// waitRecords waits (event-driven enough: records arrive as ServeConn
// returns, right after the response is written) for n records.
func (s *routeStand) waitRecords(t *testing.T, n int) []Record {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		rs := append([]Record(nil), s.records...)
		s.mu.Unlock()
		if len(rs) >= n {
			return rs
		}
	}
	t.Fatalf("fewer than %d records", n)
	return nil
}

// TestRouteAddsHeader: the command asks the proxy for /github/…; the
// upstream gets the route's header with the secret (the command's own
// Authorization replaced), the path below the route's base and the
// query; the command gets the answer with the secret cut out of the
// body and the headers; the use is one record.
func TestRouteAddsHeader(t *testing.T) {
	s := newRouteStand(t, "/api")
	host := s.up.Listener.Addr().String()
	for _, form := range []string{"/github/user/repos?per_page=2", "http://" + s.proxy + "/github/user/repos?per_page=2"} {
		resp, body := s.send(t, "POST "+form+" HTTP/1.1\r\nHost: "+s.proxy+"\r\nAuthorization: Bearer agent-guess\r\nContent-Length: 5\r\n\r\nhello")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", form, resp.StatusCode, body)
		}
		want := "host=" + host + " path=/api/user/repos query=per_page=2 body=hello auth=Bearer [REDACTED:route-github:"
		if !strings.HasPrefix(body, want) {
			t.Errorf("%s: command read %q, want %q…", form, body, want)
		}
		if e := resp.Header.Get("X-Echo"); !strings.HasPrefix(e, "Bearer [REDACTED:route-github:") {
			t.Errorf("%s: echoed header %q", form, e)
		}
	}
	resp, body := s.send(t, "PUT /github/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")
	if resp.StatusCode != 100 && resp.StatusCode != 200 {
		t.Errorf("Expect: 100-continue: %d %s", resp.StatusCode, body)
	}
	for _, r := range s.requests() {
		if got := r.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+routeSecret {
			t.Errorf("upstream saw Authorization %q", got)
		}
	}
	for _, rec := range s.waitRecords(t, 3)[:2] {
		if rec.Route != "github" || rec.Method != "POST" || rec.Path != "/api/user/repos" || rec.Status != 200 || rec.Decision != "allow" || rec.Up != 5 || rec.Down == 0 {
			t.Errorf("record %+v", rec)
		}
	}
}

// TestRouteRefusals: an unknown route is refused, and no path, URL or
// Host header leads a route's header anywhere but its upstream.
func TestRouteRefusals(t *testing.T) {
	s := newRouteStand(t, "/api")
	upHost := s.up.Listener.Addr().String()
	refused := []struct{ head string }{
		{"GET /gitlab/user HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github@evil.example/user HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET //evil.example/github/user HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/../x HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/a/../../x HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/a%2F..%2F..%2Fx HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/.%2e/x HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/a%5c..%5cx HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"GET /github/%zz HTTP/1.1\r\nHost: x\r\n\r\n"},
		// Not a route: an absolute URL to another host is an ordinary
		// proxy request, which the (empty) rules refuse, with no header.
		{"GET http://evil.example/github/user HTTP/1.1\r\nHost: evil.example\r\n\r\n"},
		{"GET http://" + upHost + "/api/user HTTP/1.1\r\nHost: " + upHost + "\r\n\r\n"},
		{"GET https://" + upHost + "/github/user HTTP/1.1\r\nHost: " + upHost + "\r\n\r\n"},
		{"CONNECT " + s.proxy + " HTTP/1.1\r\nHost: " + s.proxy + "\r\n\r\n"},
	}
	for _, c := range refused {
		resp, body := s.send(t, c.head)
		if resp.StatusCode < 400 {
			t.Errorf("%q: %d %s", c.head, resp.StatusCode, body)
		}
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
	// Tricks that stay at the upstream: the host is the route's whatever
	// the path or the Host header say.
	stays := []string{
		"GET /github/@evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github//evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github/http://evil.example/x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github/user HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		"GET /github/user HTTP/1.1\r\nHost: evil.example\r\nHost: other.example\r\n\r\n",
		"GET /github/user HTTP/1.1\r\nHost: x\r\nX-Forwarded-Host: evil.example\r\nProxy-Authorization: Basic x\r\n\r\n",
	}
	for _, h := range stays {
		resp, body := s.send(t, h)
		if resp.StatusCode != 200 && resp.StatusCode != 400 {
			t.Errorf("%q: %d %s", h, resp.StatusCode, body)
		}
	}
	for _, r := range s.requests() {
		if r.Host != upHost || !strings.HasPrefix(r.URL.Path, "/api/") || r.Header.Get("Proxy-Authorization") != "" {
			t.Errorf("upstream got host %q path %q headers %v", r.Host, r.URL.Path, r.Header)
		}
	}
}

// TestScrubberAcrossWrites: a secret cut across writes, one byte at a
// time, is still cut out.
func TestScrubberAcrossWrites(t *testing.T) {
	r := Route{Name: "github"}
	r, _ = r.WithSecret(routeSecret)
	in := "a" + routeSecret + "b" + routeSecret[:10] + "c" + routeSecret
	var out bytes.Buffer
	sw := newScrubber(&out, r)
	for i := range len(in) {
		sw.Write([]byte{in[i]})
	}
	sw.Close()
	want := "a" + r.placeholder() + "b" + routeSecret[:10] + "c" + r.placeholder()
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestParseRoute(t *testing.T) {
	bad := []struct{ name, up, header string }{
		{"GitHub", "https://api.github.com", "Authorization: Bearer {secret}"},
		{"github", "ftp://api.github.com", "Authorization: Bearer {secret}"},
		{"github", "http://api.github.com", "Authorization: Bearer {secret}"},
		{"github", "https://user@api.github.com", "Authorization: Bearer {secret}"},
		{"github", "https://api.github.com?x=1", "Authorization: Bearer {secret}"},
		{"github", "api.github.com", "Authorization: Bearer {secret}"},
		{"github", "https://2130706433", "Authorization: Bearer {secret}"},
		{"github", "https://api.github.com", "Authorization: Bearer"},
		{"github", "https://api.github.com", "Authorization {secret}"},
		{"github", "https://api.github.com", "Authorization: {secret} {secret}"},
		{"github", "https://api.github.com", "Host: {secret}"},
		{"github", "https://api.github.com", "Connection: {secret}"},
	}
	for _, b := range bad {
		if _, err := ParseRoute(b.name, b.up, b.header); err == nil {
			t.Errorf("ParseRoute(%q, %q, %q) passed", b.name, b.up, b.header)
		}
	}
	r, err := ParseRoute("gh-2", "https://api.github.com/v3/", "x-api-key: {secret}")
	if err != nil || r.Header != "X-Api-Key" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := r.WithSecret("a\r\nX: y"); err == nil {
		t.Error("a secret with a line break passed")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzRoute: whatever a command sends to the proxy, a request that
// leaves with a route's secret goes to the route's host and scheme, below
// its base path even once the upstream cleans the path; nothing else
// carries the secret (make fuzz-net runs FuzzServeConn; this one:
// go test ./core/egress -run '^$' -fuzz FuzzRoute).
func FuzzRoute(f *testing.F) {
	for _, h := range []string{
		"GET /github/user?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github/../x HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github/a%2F..%2F..%2Fx HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /github//evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
		"GET http://127.0.0.1:1/github/x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
		"POST /github/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	} {
		f.Add([]byte(h))
	}
	r, _ := ParseRoute("github", "https://api.example.com/api", "Authorization: Bearer {secret}")
	r, _ = r.WithSecret(routeSecret)
	f.Fuzz(func(t *testing.T, in []byte) {
		var bad string
		rt := roundTripFunc(func(q *http.Request) (*http.Response, error) {
			clean := pathpkg.Clean("/" + q.URL.Path)
			if q.URL.Scheme != "https" || q.URL.Host != "api.example.com" || !strings.HasPrefix(q.URL.Path, "/api/") || (clean != "/api" && !strings.HasPrefix(clean, "/api/")) {
				bad = q.URL.String()
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok " + routeSecret))}, nil
		})
		p := &Proxy{Routes: &Routes{Routes: map[string]Route{"github": r}, Transport: rt}, Dial: func(context.Context, netip.AddrPort) (net.Conn, error) {
			bad = "dialled"
			return nil, errors.New("no")
		}}
		a, b := net.Pipe()
		go func() { a.Write(in); a.Close() }()
		done := make(chan []byte)
		go func() { out, _ := io.ReadAll(a); done <- out }()
		p.ServeConn(b)
		if out := <-done; bytes.Contains(out, []byte(routeSecret)) {
			t.Errorf("the secret reached the command: %q", out)
		}
		if bad != "" {
			t.Errorf("%q went to %s", in, bad)
		}
	})
}
