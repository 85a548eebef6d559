package code

import (
	"testing"

	"github.com/gimme-tools/carapace/core/egress"
)

// TestHostListIsNotTheWholeNetwork: a list of hosts must never give a
// command the unfiltered network; only "*" does.
func TestHostListIsNotTheWholeNetwork(t *testing.T) {
	for _, c := range []struct {
		allow []string
		want  bool
	}{{nil, false}, {[]string{"api.github.com"}, false}, {[]string{"127.0.0.1:8443"}, false}, {[]string{"*"}, true}} {
		rs, err := egress.ParseRules(c.allow, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := &Service{cfg: Config{Network: func(string) egress.Rules { return rs }}}
		if got := s.networkAllowed("/p"); got != c.want {
			t.Errorf("allow %q: whole network %v, want %v", c.allow, got, c.want)
		}
	}
}
