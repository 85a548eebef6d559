package egress

import (
	"net/netip"
	"strings"
	"testing"
)

func capOf(t *testing.T, name string, allow, deny []string) Cap {
	rs := mustRules(t, allow, deny)
	return Cap{Name: name, Allow: rs.Allow, Deny: rs.Deny}
}

// TestCapsOnlyNarrow: a cap (the system's, a token's) can take hosts
// away from the owner's rules and never add one, "*" included.
func TestCapsOnlyNarrow(t *testing.T) {
	owner := mustRules(t, []string{"registry.npmjs.org", "pypi.org", "127.0.0.1:8443"}, nil)
	system := owner.Within(capOf(t, "the system cap", []string{"*.npmjs.org", "pypi.org", "evil.example"}, []string{"pypi.org"}))
	widen := owner.Within(capOf(t, "the token's network claim", []string{"*:*", "evil.example", "127.0.0.1:8443"}, nil))
	for _, c := range []struct {
		rs   Rules
		host string
		ok   bool
		why  string
	}{
		{system, "registry.npmjs.org", true, "allowed by registry.npmjs.org"},
		{system, "pypi.org", false, "denied by pypi.org in the system cap"},
		{system, "evil.example", false, "no allow rule covers evil.example:443"},
		{widen, "evil.example", false, "no allow rule covers evil.example:443"},
		{widen, "pypi.org", true, "allowed by pypi.org"},
		{owner.Within(capOf(t, "the token's network claim", []string{"pypi.org"}, nil)), "registry.npmjs.org", false, "registry.npmjs.org:443 is outside the token's network claim"},
	} {
		ok, why := c.rs.Check(Target{Name: c.host, Port: 443})
		if ok != c.ok || why != c.why {
			t.Errorf("%s: %v %q, want %v %q", c.host, ok, why, c.ok, c.why)
		}
	}
	// A private address is reached only if every layer names it.
	a := netip.MustParseAddr("127.0.0.1")
	if system.NamesAddr(a, 8443) {
		t.Error("the system cap does not name 127.0.0.1:8443, yet it is reachable")
	}
	if !widen.NamesAddr(a, 8443) {
		t.Error("every layer names 127.0.0.1:8443, yet it is not reachable")
	}
	// A cap that allows nothing leaves no network.
	if !owner.Within(Cap{Name: "none"}).Empty() {
		t.Error("a cap allowing nothing: network")
	}
}

// TestSessionConfigCarriesCaps: the caps reach the proxy process.
func TestSessionConfigCarriesCaps(t *testing.T) {
	rs := mustRules(t, []string{"a.example", "b.example"}, nil).Within(capOf(t, "the system cap", []string{"a.example"}, nil))
	p, err := NewSessionConfig(rs).Proxy(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := p.Rules.Check(Target{Name: "b.example", Port: 443}); ok || !strings.Contains(why, "outside the system cap") {
		t.Errorf("b.example through the process's rules: %v %q", ok, why)
	}
}
