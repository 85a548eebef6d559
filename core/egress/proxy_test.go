package egress

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stand is a registry stand-in: HTTPS (self-signed, 127.0.0.1 and
// example.com) and plain HTTP on loopback, and a proxy in front with the
// rules given, whose records the test reads.
type stand struct {
	tls, plain *httptest.Server
	tlsPort    string
	plainPort  string
	proxy      string // host:port of the proxy's listener
	roots      *x509.CertPool
	caFile     string
	mu         sync.Mutex
	records    []Record
}

func newStand(t *testing.T, rules func(tlsPort, plainPort string) ([]string, []string), names map[string]string) *stand {
	t.Helper()
	s := &stand{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "package from %s%s", r.Host, r.URL.Path)
	})
	s.tls = httptest.NewTLSServer(h)
	s.plain = httptest.NewServer(h)
	t.Cleanup(s.tls.Close)
	t.Cleanup(s.plain.Close)
	_, s.tlsPort, _ = net.SplitHostPort(s.tls.Listener.Addr().String())
	_, s.plainPort, _ = net.SplitHostPort(s.plain.Listener.Addr().String())
	s.roots = x509.NewCertPool()
	s.roots.AddCert(s.tls.Certificate())
	s.caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw}), 0o600)
	allow, deny := rules(s.tlsPort, s.plainPort)
	rs, err := ParseRules(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Rules: rs, Record: func(r Record) {
		s.mu.Lock()
		s.records = append(s.records, r)
		s.mu.Unlock()
	}}
	p.Resolve = func(ctx context.Context, name string) ([]netip.Addr, error) {
		if a, ok := names[name]; ok {
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		}
		return nil, fmt.Errorf("no such host %s (test resolver)", name)
	}
	s.proxy = serveProxy(t, p)
	return s
}

// last waits for the record of the n-th connection (1-based).
func (s *stand) record(t *testing.T, n int) Record {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		if len(s.records) >= n {
			r := s.records[n-1]
			s.mu.Unlock()
			return r
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no record %d", n)
	return Record{}
}

func (s *stand) client(serverName string) *http.Client {
	pu, _ := url.Parse("http://" + s.proxy)
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		Proxy:             http.ProxyURL(pu),
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: s.roots, ServerName: serverName},
	}}
}

func standRules(tlsPort, plainPort string) ([]string, []string) {
	return []string{"example.com:" + tlsPort, "127.0.0.1:" + tlsPort, "plain.test:" + plainPort, "127.0.0.1:" + plainPort,
		"evil.test:*", "metadata.test:*", "example.org:" + tlsPort}, []string{"blocked.test"}
}

var standNames = map[string]string{
	"example.com": "127.0.0.1", "plain.test": "127.0.0.1", "example.org": "127.0.0.1",
	"evil.test": "127.0.0.1", "metadata.test": "169.254.169.254",
}

func TestProxyAllowsListedHosts(t *testing.T) {
	s := newStand(t, standRules, standNames)
	for i, u := range []string{
		"https://example.com:" + s.tlsPort + "/pkg.tgz",
		"https://127.0.0.1:" + s.tlsPort + "/pkg.tgz",
		"http://plain.test:" + s.plainPort + "/simple/",
	} {
		resp, err := s.client("").Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "package from") {
			t.Fatalf("%s: %d %q", u, resp.StatusCode, b)
		}
		r := s.record(t, i+1)
		if r.Decision != "allow" || r.Addr == "" || r.Up == 0 || r.Down == 0 || !strings.HasPrefix(r.Why, "allowed by") {
			t.Errorf("%s: record %+v", u, r)
		}
	}
}

// TestProxyBypassCorpus: each way around the rules that the proxy itself
// must stop, with the reason in the record (the namespace's share of the
// corpus is in linux/sandbox).
func TestProxyBypassCorpus(t *testing.T) {
	s := newStand(t, standRules, standNames)
	cases := []struct {
		name, send, why string
	}{
		{"unlisted host", "CONNECT example.net:443 HTTP/1.1\r\nHost: example.net:443\r\n\r\n", "no allow rule"},
		{"denied host", "CONNECT blocked.test:443 HTTP/1.1\r\n\r\n", "denied by blocked.test"},
		{"allowed name resolving to loopback", "CONNECT evil.test:443 HTTP/1.1\r\n\r\n", "a loopback address"},
		{"allowed name resolving to metadata", "CONNECT metadata.test:80 HTTP/1.1\r\n\r\n", "cloud metadata"},
		{"decimal IP", "CONNECT 2130706433:" + s.tlsPort + " HTTP/1.1\r\n\r\n", "numeric form"},
		{"octal-dotted IP", "CONNECT 0177.0.0.1:" + s.tlsPort + " HTTP/1.1\r\n\r\n", "numeric form"},
		{"IPv4-mapped IPv6 of a private address", "CONNECT [::ffff:169.254.169.254]:80 HTTP/1.1\r\n\r\n", "no allow rule"},
		{"IPv6 loopback", "CONNECT [::1]:" + s.tlsPort + " HTTP/1.1\r\n\r\n", "no allow rule"},
		{"Host header not the absolute URI", "GET http://plain.test:" + s.plainPort + "/ HTTP/1.1\r\nHost: internal.test\r\n\r\n", "is not the URI's host"},
		{"two Host headers", "GET http://plain.test:" + s.plainPort + "/ HTTP/1.1\r\nHost: plain.test:" + s.plainPort + "\r\nHost: internal.test\r\n\r\n", "Host"},
		{"origin-form request", "GET / HTTP/1.1\r\nHost: plain.test\r\n\r\n", "absolute http:// URI"},
		{"https URI without CONNECT", "GET https://example.com:" + s.tlsPort + "/ HTTP/1.1\r\nHost: example.com\r\n\r\n", "absolute http:// URI"},
		{"not HTTP", "\x16\x03\x01\x00\x05hello\r\n\r\n", "not an HTTP proxy request"},
	}
	for i, c := range cases {
		conn, err := net.Dial("tcp", s.proxy)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, c.send)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil || resp.StatusCode < 400 || !strings.Contains(resp.Header.Get("X-Carapace-Refused"), c.why) {
			t.Errorf("%s: %v %v, want a refusal saying %q", c.name, resp, err, c.why)
		}
		if r := s.record(t, i+1); r.Decision != "deny" || !strings.Contains(r.Why, c.why) {
			t.Errorf("%s: record %+v", c.name, r)
		}
	}
}

// TestProxyTunnelChecks: what follows a CONNECT must be a ClientHello
// naming the CONNECT host.
func TestProxyTunnelChecks(t *testing.T) {
	s := newStand(t, standRules, standNames)
	n := 0
	tunnel := func(target string) net.Conn {
		n++
		conn, err := net.Dial("tcp", s.proxy)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT %s: %v %v", target, resp, err)
		}
		return conn
	}
	// SNI ≠ CONNECT host: CONNECT to an allowed name, TLS for another.
	conn := tunnel("example.com:" + s.tlsPort)
	tc := tls.Client(conn, &tls.Config{ServerName: "example.org", RootCAs: s.roots})
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Error("SNI example.org through CONNECT example.com: handshake succeeded")
	}
	conn.Close()
	if r := s.record(t, n); r.Decision != "deny" || !strings.Contains(r.Why, `TLS server name "example.org" is not the CONNECT host`) {
		t.Errorf("SNI mismatch record %+v", r)
	}
	// SNI to an address CONNECT.
	conn = tunnel("127.0.0.1:" + s.tlsPort)
	tc = tls.Client(conn, &tls.Config{ServerName: "example.com", RootCAs: s.roots})
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Error("SNI example.com through CONNECT 127.0.0.1: handshake succeeded")
	}
	conn.Close()
	if r := s.record(t, n); r.Decision != "deny" || !strings.Contains(r.Why, "is not the CONNECT host") {
		t.Errorf("SNI to an address record %+v", r)
	}
	// CONNECT inside CONNECT, and plain HTTP inside CONNECT.
	for _, inner := range []string{"CONNECT evil.example:443 HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"} {
		conn = tunnel("example.com:" + s.tlsPort)
		io.WriteString(conn, inner)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		if b, _ := io.ReadAll(conn); len(b) != 0 {
			t.Errorf("%q inside CONNECT got %q", inner, b)
		}
		conn.Close()
		if r := s.record(t, n); r.Decision != "deny" || !strings.Contains(r.Why, "carries TLS only") {
			t.Errorf("%q inside CONNECT: record %+v", inner, r)
		}
	}
}

func TestProxyCaps(t *testing.T) {
	s := newStand(t, standRules, standNames)
	rs, _ := ParseRules(standRules(s.tlsPort, s.plainPort))
	p := &Proxy{Rules: rs, MaxConns: 1, MaxBytes: 64, Resolve: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}}
	var mu sync.Mutex
	var recs []Record
	p.Record = func(r Record) { mu.Lock(); recs = append(recs, r); mu.Unlock() }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.ServeConn(c)
		}
	}()
	for i := 0; i < 2; i++ {
		a, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		a.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(a, "GET http://plain.test:%s/%s HTTP/1.1\r\nHost: plain.test:%s\r\n\r\n", s.plainPort, strings.Repeat("x", 100), s.plainPort)
		io.ReadAll(a)
		a.Close()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			done := len(recs) > i
			mu.Unlock()
			if done {
				break
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != 2 || !strings.Contains(recs[0].Why, "cut at 64 bytes") || !strings.Contains(recs[1].Why, "more than 1 connections") {
		t.Errorf("records %+v", recs)
	}
}

// TestCurlThroughProxy runs curl, the way a tool in the sandbox would
// use HTTPS_PROXY: an allowed host works, an unlisted one fails with the
// reason on curl's stderr.
func TestCurlThroughProxy(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	s := newStand(t, standRules, standNames)
	curl := func(u string) (string, error) {
		cmd := exec.Command("curl", "-sS", "--max-time", "20", "--cacert", s.caFile, u)
		cmd.Env = []string{"HTTPS_PROXY=http://" + s.proxy, "HTTP_PROXY=http://" + s.proxy, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := curl("https://127.0.0.1:" + s.tlsPort + "/left-pad.tgz"); err != nil || !strings.Contains(out, "package from") {
		t.Errorf("allowed: %v %s", err, out)
	}
	if out, err := curl("https://example.net/"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("unlisted: %v %s", err, out)
	}
}

// TestProxyDownloadCap: a download between two TCP
// connections moves through the kernel (splice) in budget steps, and the
// command's byte budget still holds exactly: a server sending 8 MiB
// reaches the command only up to the cap, and the record says it was cut.
func TestProxyDownloadCap(t *testing.T) {
	const limit = 3<<20 + 17
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				http.ReadRequest(bufio.NewReader(c))
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 8<<20)
				c.Write(bytes.Repeat([]byte("0123456789abcdef"), 512<<10)) // 8 MiB
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	rs, err := ParseRules([]string{"bulk.test:" + port, "127.0.0.1:" + port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := make(chan Record, 1)
	p := &Proxy{Rules: rs, MaxBytes: limit, Record: func(r Record) { recs <- r },
		Resolve: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}}
	a := dialThrough(t, p)
	fmt.Fprintf(a, "GET http://bulk.test:%s/big HTTP/1.1\r\nHost: bulk.test:%s\r\n\r\n", port, port)
	got, _ := io.Copy(io.Discard, a) // the response's head and what of its body came
	var r Record
	select {
	case r = <-recs:
	case <-time.After(30 * time.Second):
		t.Fatal("no record")
	}
	if got > limit || r.Down > limit || r.Down != got {
		t.Errorf("the command got %d bytes (record: %d) past a cap of %d", got, r.Down, limit)
	}
	if got < 3<<20 || !strings.Contains(r.Why, fmt.Sprintf("cut at %d bytes", limit)) {
		t.Errorf("got %d bytes, record %+v: want the download cut at the cap, and said so", got, r)
	}
}

// TestProxyBulkTail: a download that has run as a bulk flow (the proxy
// then waits for many bytes at a time, splice_linux.go) and pauses with a
// short tail still to come — a response on a kept-alive connection,
// before the server waits for the client — delivers the tail without
// waiting for the end of the stream. Both directions stay open until the
// client has every byte.
func TestProxyBulkTail(t *testing.T) {
	const body = 4 << 20
	tail := []byte("the last bytes before the server waits")
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		c, err := srv.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", body+len(tail))
		c.Write(bytes.Repeat([]byte("0123456789abcdef"), body/16))
		c.Write(tail)
		br.ReadString('\n') // the client's word that it has everything
	}()
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	rs, err := ParseRules([]string{"127.0.0.1:" + port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Rules: rs}
	a := dialThrough(t, p)
	fmt.Fprintf(a, "GET http://127.0.0.1:%s/big HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n", port, port)
	resp, err := http.ReadResponse(bufio.NewReader(a), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || len(got) != body+len(tail) || !bytes.HasSuffix(got, tail) {
		t.Fatalf("got %d of %d bytes (%v): the tail after a bulk flow did not come while the server waited", len(got), body+len(tail), err)
	}
	fmt.Fprintf(a, "done\n")
}

// serveProxy serves p on a loopback listener, each connection accepted
// handed to ServeConn (TCP on both sides, as the forwarder hands the
// proxy a command's connections), and returns its address.
func serveProxy(t *testing.T, p *Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.ServeConn(c)
		}
	}()
	return ln.Addr().String()
}

// dialThrough returns a connection to serveProxy(p), with a deadline of
// 30 seconds; it is closed when the test ends.
func dialThrough(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	a, err := net.Dial("tcp", serveProxy(t, p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.SetDeadline(time.Now().Add(30 * time.Second))
	return a
}
