package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayersStayApart: the JSON-RPC layers each keep to one job (issue
// 16): jsonrpc parses and encodes and depends on none of our I/O;
// rpcserver serves connections and knows nothing of services; the
// supervisor keeps processes alive and knows nothing of the router.
func TestLayersStayApart(t *testing.T) {
	const mod = "github.com/gimme-tools/carapace/core/"
	for pkg, forbidden := range map[string][]string{
		"./jsonrpc":    {"jsonrpc/stream", "rpcserver", "peer", "service"},
		"./rpcserver":  {"service", "mux", "router"},
		"./supervisor": {"router", "rpcserver"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == mod+f || strings.HasPrefix(dep, mod+f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
