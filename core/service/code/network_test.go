package code

import (
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// TestNoNetworkWithoutTheProxy: a command gets network only through the
// proxy, which needs a warm helper; without one, whatever the rules ("*"
// included), it gets none — never the unfiltered network.
func TestNoNetworkWithoutTheProxy(t *testing.T) {
	for _, allow := range [][]string{nil, {"api.github.com"}, {"*"}} {
		rs, err := egress.ParseRules(allow, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := &Service{cfg: Config{Network: func(string) egress.Rules { return rs }}}
		if s.networkFor("/p") {
			t.Errorf("allow %q without a warm helper: network", allow)
		}
	}
	if !(&Service{}).rulesFor("/p").Empty() {
		t.Error("no Network func: rules")
	}
}

// TestTokenNarrowsNetwork: a code token's network claim narrows the
// owner's rules and never widens them: a host the claim names but the
// owner does not stays refused, "*" included; an empty claim leaves no
// network; a token without the claim gets the owner's rules.
func TestTokenNarrowsNetwork(t *testing.T) {
	key, err := token.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	m := token.NewMinter(key, t.TempDir())
	mint := func(network *[]string) *service.Call {
		raw, _, err := m.MintNarrowed(token.AudCode, []string{"POST:/p/*"}, time.Minute, false, "owner", "claude", network)
		if err != nil {
			t.Fatal(err)
		}
		return &service.Call{Caller: service.Caller{Token: raw}}
	}
	owner, err := egress.ParseRules([]string{"registry.npmjs.org", "pypi.org"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{cfg: Config{Network: func(string) egress.Rules { return owner }}}
	check := func(call *service.Call, host string) (bool, string) {
		return s.commandRules(call, "/p").Check(egress.Target{Name: host, Port: 443})
	}
	narrow := mint(&[]string{"pypi.org"})
	if ok, why := check(narrow, "registry.npmjs.org"); ok || why != "registry.npmjs.org:443 is outside the token's network claim" {
		t.Errorf("a host the claim leaves out: %v %q", ok, why)
	}
	if ok, _ := check(narrow, "pypi.org"); !ok {
		t.Error("a host both allow: refused")
	}
	for _, widen := range [][]string{{"evil.example"}, {"*:*"}} {
		if ok, why := check(mint(&widen), "evil.example"); ok || why != "no allow rule covers evil.example:443" {
			t.Errorf("claim %q widening to evil.example: %v %q", widen, ok, why)
		}
	}
	if !s.commandRules(mint(&[]string{}), "/p").Empty() {
		t.Error("an empty claim: network")
	}
	if ok, _ := check(mint(nil), "registry.npmjs.org"); !ok {
		t.Error("no claim: the owner's rules refused")
	}
}
