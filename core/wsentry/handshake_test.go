package wsentry

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

var local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7001}

var hostTests = []struct {
	host string
	ok   bool
}{
	{"127.0.0.1:7001", true},
	{"localhost:7001", true},
	{"LOCALHOST:7001", true},
	{"[::1]:7001", true},
	{"127.0.0.1:7002", false},
	{"127.0.0.1", false},
	{"127.1:7001", false},
	{"2130706433:7001", false},
	{"0x7f.0.0.1:7001", false},
	{"evil.example:7001", false},
	{"localhost.evil.example:7001", false},
	{"127.0.0.1.nip.io:7001", false},
	{"[::ffff:127.0.0.1]:7001", false},
	{"", false},
	{"127.0.0.1:7001:7001", false},
}

func TestCheckHost(t *testing.T) {
	for _, tt := range hostTests {
		r := &http.Request{Host: tt.host, Header: http.Header{}}
		if got := checkHost(r, local) == nil; got != tt.ok {
			t.Errorf("checkHost(%q) allowed=%v, want %v", tt.host, got, tt.ok)
		}
	}
	// Listening on a LAN address (the override), that literal address is
	// allowed too, and still no name.
	lan := &net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 7001}
	for host, ok := range map[string]bool{"192.168.1.5:7001": true, "127.0.0.1:7001": true, "laptop.lan:7001": false, "192.168.1.6:7001": false} {
		if got := checkHost(&http.Request{Host: host}, lan) == nil; got != ok {
			t.Errorf("on a LAN listener, checkHost(%q) allowed=%v, want %v", host, got, ok)
		}
	}
}

var originTests = []struct {
	origin, referer string
	ok              bool
}{
	{"", "", true},
	{"https://app.example", "", true},
	{"https://app.example/", "", false}, // an Origin header never ends in /
	{"HTTPS://APP.EXAMPLE", "", true},
	{"http://app.example", "", false},
	{"https://app.example:8443", "", false},
	{"https://app.example.evil", "", false},
	{"null", "", false},
	{"", "https://app.example/page?q", true},
	{"", "https://evil.example/app.example", false},
	{"", "not a url", false},
	{"https://evil.example", "https://app.example/", false},
}

func TestCheckOrigin(t *testing.T) {
	allowed := []string{"https://app.example"}
	for _, tt := range originTests {
		r := &http.Request{Header: http.Header{}}
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if tt.referer != "" {
			r.Header.Set("Referer", tt.referer)
		}
		if got := checkOrigin(r, allowed) == nil; got != tt.ok {
			t.Errorf("checkOrigin(%q, %q) allowed=%v, want %v", tt.origin, tt.referer, got, tt.ok)
		}
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{"": "", "Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "!", "Bearer": "!", "Bearer ": "!"} {
		r := &http.Request{Header: http.Header{}}
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		tok, ref := bearer(r)
		if (ref != nil) != (want == "!") || (ref == nil && tok != want) {
			t.Errorf("bearer(%q) = %q, %v; want %q", h, tok, ref, want)
		}
	}
}

// FuzzHandshake checks the handshake decisions on arbitrary headers: a
// Host that passes names loopback with the listener's port, an Origin that
// passes with an empty allowlist is absent, and a bearer token is never
// empty or oversized.
func FuzzHandshake(f *testing.F) {
	for _, h := range hostTests {
		f.Add(h.host, "", "", "")
	}
	for _, o := range originTests {
		f.Add("127.0.0.1:7001", o.origin, o.referer, "Bearer x")
	}
	f.Fuzz(func(t *testing.T, host, origin, referer, auth string) {
		r := &http.Request{Host: host, Header: http.Header{}}
		r.Header.Set("Origin", origin)
		r.Header.Set("Referer", referer)
		r.Header.Set("Authorization", auth)
		if checkHost(r, local) == nil {
			h, p, err := net.SplitHostPort(host)
			ip := net.ParseIP(h)
			if err != nil || p != "7001" || (!strings.EqualFold(h, "localhost") && (ip == nil || !ip.IsLoopback())) {
				t.Fatalf("host %q allowed", host)
			}
		}
		if checkOrigin(r, nil) == nil && (r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "") {
			t.Fatalf("origin %q / referer %q allowed by an empty list", origin, referer)
		}
		if tok, ref := bearer(r); ref == nil && tok != "" && (len(tok) > maxBearer || strings.TrimSpace(tok) != tok) {
			t.Fatalf("bearer %q from %q", tok, auth)
		}
	})
}
