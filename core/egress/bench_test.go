package egress

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"
)

// TestNetBenchmark (make bench-net) measures the proxy against direct
// loopback in one run: a 100 MiB HTTPS download's throughput, and the
// added latency of a new connection (TCP, CONNECT, TLS handshake, a small
// GET), p50 of 300 each.
func TestNetBenchmark(t *testing.T) {
	if os.Getenv("CARAPACE_NET_BENCH") == "" {
		t.Skip("set CARAPACE_NET_BENCH=1 (make bench-net)")
	}
	const size = 100 << 20
	chunk := make([]byte, 1<<20)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Header().Set("Content-Length", fmt.Sprint(size))
			for i := 0; i < size/len(chunk); i++ {
				w.Write(chunk)
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	rs, _ := ParseRules([]string{"127.0.0.1:" + port}, nil)
	p := &Proxy{Rules: rs, MaxConns: 1 << 20}
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
	pu, _ := url.Parse("http://" + ln.Addr().String())
	client := func(proxied, keep bool) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DisableKeepAlives = !keep
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		if proxied {
			tr.Proxy = http.ProxyURL(pu)
		}
		return &http.Client{Transport: tr}
	}
	u := "https://127.0.0.1:" + port
	get := func(c *http.Client, path string) {
		resp, err := c.Get(u + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	download := func(proxied bool) float64 {
		best := 0.0
		for i := 0; i < 3; i++ {
			start := time.Now()
			get(client(proxied, false), "/big")
			best = max(best, size/time.Since(start).Seconds()/(1<<20))
		}
		return best
	}
	latency := func(proxied bool) time.Duration {
		c := client(proxied, false)
		var ds []time.Duration
		for i := 0; i < 300; i++ {
			start := time.Now()
			get(c, "/small")
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	direct, proxied := download(false), download(true)
	ld, lp := latency(false), latency(true)
	t.Logf("100 MiB over HTTPS: direct %.0f MiB/s, through the proxy %.0f MiB/s (%.2f×, target ≥ 0.8×)", direct, proxied, proxied/direct)
	t.Logf("new connection + TLS + small GET, p50 of 300: direct %v, through the proxy %v (added %v, target ≤ 1 ms)", ld.Round(time.Microsecond), lp.Round(time.Microsecond), (lp - ld).Round(time.Microsecond))
}
