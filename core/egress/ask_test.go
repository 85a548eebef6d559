package egress

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// TestProxyAsks: in ask mode a host no owner rule covers is put to the
// owner (Proxy.Ask) and goes through only if the owner allows it; a host
// a deny rule or a cap refuses is never asked about.
func TestProxyAsks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") }))
	defer srv.Close()
	rs := mustRules(t, []string{"listed.example"}, []string{"denied.example"})
	rs.Ask = true
	rs = rs.Within(capOf(t, "the system cap", []string{"*.example"}, nil))
	var mu sync.Mutex
	var asked []string
	p := &Proxy{Rules: rs,
		Ask: func(t Target) (bool, string) {
			mu.Lock()
			asked = append(asked, t.String())
			mu.Unlock()
			if t.Name == "unlisted.example" {
				return true, "allowed by the owner (request 1)"
			}
			return false, "refused by the owner (request 2)"
		},
		Resolve: func(context.Context, string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		},
		Dial: func(ctx context.Context, _ netip.AddrPort) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
		},
	}
	get := func(host string) string {
		c, s := net.Pipe()
		go p.ServeConn(s)
		defer c.Close()
		fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		return fmt.Sprint(res.StatusCode, " ", res.Header.Get("X-Carapace-Refused"))
	}
	for host, want := range map[string]string{
		"unlisted.example": "200 ",
		"other.example":    "403 refused by the owner (request 2)",
		"denied.example":   "403 denied by denied.example",
		"capped.test":      "403 no allow rule covers capped.test:80",
		"listed.example":   "200 ",
	} {
		if got := get(host); got != want {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(asked, " ") != "unlisted.example:80 other.example:80" && strings.Join(asked, " ") != "other.example:80 unlisted.example:80" {
		t.Errorf("asked about %q, want unlisted.example:80 and other.example:80 only", asked)
	}
}
