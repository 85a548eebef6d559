package egress

import (
	"net/netip"
	"strings"
	"testing"
)

var ruleCases = []struct {
	in, want string // want "" = refused
}{
	{"packages.example.org", "packages.example.org"},
	{"Packages.Example.ORG.", "packages.example.org"},
	{"*.files.example.net", "*.files.example.net"},
	{"api.github.com:443", "api.github.com:443"},
	{"api.example.com:*", "api.example.com:*"},
	{"127.0.0.1:8443", "127.0.0.1:8443"},
	{"[::1]:8443", "[::1]:8443"},
	{"[::ffff:127.0.0.1]:8443", "127.0.0.1:8443"},
	{"*", "*"},
	{"*:*", "*:*"},
	{"", ""},
	{"::1", ""},
	{"::1:443", ""},
	{"[::1", ""},
	{"[::1]x", ""},
	{"[127.0.0.1]:1", ""},
	{"[fe80::1%eth0]:1", ""},
	{"host:0", ""},
	{"host:65536", ""},
	{"host:0443", ""},
	{"host:", ""},
	{":443", ""},
	{"a..b", ""},
	{"-a.b", ""},
	{"a*.b", ""},
	{"*.*.b", ""},
	{"bücher.example", ""},
	{"2130706433", ""},
	{"127.1", ""},
	{"0x7f.1", ""},
	{"a b", ""},
}

func TestParseRule(t *testing.T) {
	for _, c := range ruleCases {
		r, err := ParseRule(c.in)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("ParseRule(%q) = %v, want an error", c.in, r)
		case c.want != "" && err != nil:
			t.Errorf("ParseRule(%q): %v", c.in, err)
		case c.want != "" && r.String() != c.want:
			t.Errorf("ParseRule(%q) = %q, want %q", c.in, r.String(), c.want)
		}
	}
}

func mustRules(t *testing.T, allow, deny []string) Rules {
	t.Helper()
	rs, err := ParseRules(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestCheck(t *testing.T) {
	rs := mustRules(t,
		[]string{"packages.example.org", "*.files.example.net", "api.github.com:443", "127.0.0.1:8443"},
		[]string{"bad.files.example.net", "packages.example.org:80"})
	for _, c := range []struct {
		host string
		port uint16
		ok   bool
	}{
		{"packages.example.org", 443, true},
		{"PACKAGES.example.org.", 443, true},
		{"packages.example.org", 80, false}, // denied
		{"packages.example.org", 8080, false},
		{"a.files.example.net", 80, true},
		{"a.b.files.example.net", 443, true},
		{"files.example.net", 443, false}, // *. is below, not the name
		{"bad.files.example.net", 443, false},
		{"x.bad.files.example.net", 443, true}, // deny names one host
		{"evilfiles.example.net", 443, false},
		{"api.github.com", 443, true},
		{"api.github.com", 80, false},
		{"127.0.0.1", 8443, true},
		{"[::ffff:127.0.0.1]", 8443, true},
		{"127.0.0.1", 443, false},
		{"example.com", 443, false},
	} {
		tg, err := ParseTarget(c.host, c.port)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", c.host, err)
			continue
		}
		if ok, why := rs.Check(tg); ok != c.ok {
			t.Errorf("Check(%s) = %v (%s), want %v", tg, ok, why, c.ok)
		}
	}
	if !mustRules(t, []string{"*"}, nil).Everything() || rs.Everything() {
		t.Error("Everything")
	}
}

func TestParseTargetRefusesNumericNames(t *testing.T) {
	for _, h := range []string{"2130706433", "127.1", "0x7f000001", "0x7f.0.0.1", "017700000001", "fe80::1%eth0", "a..b", ""} {
		if tg, err := ParseTarget(h, 443); err == nil {
			t.Errorf("ParseTarget(%q) = %v, want an error", h, tg)
		}
	}
	if _, err := ParseTarget("deadbeef.example", 443); err != nil {
		t.Errorf("a hex-looking label in a name: %v", err)
	}
}

func TestRefused(t *testing.T) {
	for _, c := range []struct {
		a    string
		want bool
	}{
		{"127.0.0.1", true}, {"127.9.9.9", true}, {"10.1.2.3", true}, {"172.16.0.1", true},
		{"192.168.1.1", true}, {"169.254.169.254", true}, {"100.64.0.1", true}, {"0.0.0.0", true},
		{"::1", true}, {"::", true}, {"::ffff:127.0.0.1", true}, {"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true}, {"64:ff9b::7f00:1", true}, {"2002:7f00:1::", true}, {"fe80::1", true},
		{"fc00::1", true}, {"fd00:ec2::254", true}, {"ff02::1", true}, {"224.0.0.1", true},
		{"93.184.216.34", false}, {"2606:2800:220:1:248:1893:25c8:1946", false}, {"::ffff:93.184.216.34", false},
	} {
		if got, why := Refused(netip.MustParseAddr(c.a)); got != c.want {
			t.Errorf("Refused(%s) = %v (%s), want %v", c.a, got, why, c.want)
		}
	}
}

func TestNamesAddr(t *testing.T) {
	rs := mustRules(t, []string{"127.0.0.1:8443", "*", "localhost"}, nil)
	if !rs.NamesAddr(netip.MustParseAddr("::ffff:127.0.0.1"), 8443) {
		t.Error("an address rule names its address")
	}
	if rs.NamesAddr(netip.MustParseAddr("127.0.0.1"), 443) || rs.NamesAddr(netip.MustParseAddr("169.254.169.254"), 80) {
		t.Error("a name rule or * must not name a private address")
	}
}

// FuzzRule checks that whatever parses prints back to a pattern that
// parses to the same rule, and that no target Check allows escapes a
// rule's host or port.
func FuzzRule(f *testing.F) {
	for _, c := range ruleCases {
		f.Add(c.in, "a.files.example.net", uint16(443))
	}
	f.Add("*.example.com", "example.com", uint16(443))
	f.Add("127.0.0.1:8443", "2130706433", uint16(8443))
	f.Fuzz(func(t *testing.T, pattern, host string, port uint16) {
		r, err := ParseRule(pattern)
		if err != nil {
			return
		}
		again, err := ParseRule(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q → %q → %q, %v", pattern, r.String(), again.String(), err)
		}
		tg, err := ParseTarget(host, port)
		if err != nil {
			return
		}
		ok, _ := Rules{Allow: []Rule{r}}.Check(tg)
		if !ok {
			return
		}
		if !r.AnyPort && !r.matchPort(port) {
			t.Fatalf("%s allowed port %d", r, port)
		}
		switch {
		case r.Addr.IsValid():
			if tg.Addr != r.Addr {
				t.Fatalf("%s allowed %s", r, tg)
			}
		case r.Host == "*":
		case tg.Addr.IsValid():
			t.Fatalf("name rule %s allowed address %s", r, tg)
		case r.Suffix:
			if !strings.HasSuffix(tg.Name, "."+r.Host) || tg.Name == r.Host {
				t.Fatalf("%s allowed %s", r, tg)
			}
		default:
			if tg.Name != r.Host {
				t.Fatalf("%s allowed %s", r, tg)
			}
		}
		if ok, _ := (Rules{Allow: []Rule{r}, Deny: []Rule{r}}).Check(tg); ok {
			t.Fatalf("deny %s did not win", r)
		}
	})
}
