package code

import (
	"testing"

	"github.com/gimme-tools/carapace/core/egress"
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
