package egress

import (
	"context"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// FuzzServeConn feeds the proxy whatever a command might send and checks
// that it never dials an address the rules do not allow: never a refused
// range unless an allow rule names the address, never a denied one.
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello",
		"CONNECT evil.test:443 HTTP/1.1\r\n\r\n",
		"CONNECT 2130706433:443 HTTP/1.1\r\n\r\n",
		"CONNECT [::ffff:127.0.0.1]:8443 HTTP/1.1\r\n\r\n",
		"GET http://plain.test/ HTTP/1.1\r\nHost: plain.test\r\n\r\n",
		"GET http://plain.test/ HTTP/1.1\r\nHost: other\r\n\r\n",
		"GET http://127.0.0.1:8443/ HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n",
	} {
		f.Add(s)
	}
	rs, _ := ParseRules([]string{"example.com", "plain.test", "evil.test", "127.0.0.1:8443", "*.wild.test"}, []string{"bad.wild.test"})
	names := map[string]netip.Addr{
		"example.com": netip.MustParseAddr("93.184.216.34"), "plain.test": netip.MustParseAddr("93.184.216.35"),
		"evil.test": netip.MustParseAddr("127.0.0.1"),
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := &Proxy{Rules: rs}
		p.Resolve = func(_ context.Context, name string) ([]netip.Addr, error) {
			if a, ok := names[name]; ok {
				return []netip.Addr{a}, nil
			}
			return []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("93.184.216.36")}, nil
		}
		p.Dial = func(_ context.Context, a netip.AddrPort) (net.Conn, error) {
			if bad, _ := Refused(a.Addr()); bad && !rs.NamesAddr(a.Addr(), a.Port()) {
				t.Fatalf("%q: dialled refused address %s", in, a)
			}
			if ok, why := rs.Check(Target{Addr: a.Addr(), Port: a.Port()}); !ok && why[:6] == "denied" {
				t.Fatalf("%q: dialled denied address %s", in, a)
			}
			c, s := net.Pipe()
			go io.Copy(io.Discard, s)
			return c, nil
		}
		c, s := net.Pipe()
		done := make(chan struct{})
		go func() { p.ServeConn(s); close(done) }()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		go io.Copy(io.Discard, c)
		io.WriteString(c, in)
		c.Close()
		<-done
	})
}
