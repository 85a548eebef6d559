package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/egress"
)

// TestSystemNetworkCap: the system file's services.code.network caps the
// owner's rules (a host must be in both; the cap's deny wins), and an
// owner's allow the cap leaves out — "*" included — stays refused.
func TestSystemNetworkCap(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sys, err := LoadSystem(write("carapace.yaml", "services:\n  code:\n    network:\n      allow: [\"*.npmjs.org\", pypi.org]\n      deny: [uploads.npmjs.org]\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	cap, ok := sys.Services.Code.NetworkCap()
	if !ok {
		t.Fatal("no cap")
	}
	owner, err := LoadOwner(write("local.yaml", "services:\n  code:\n    network:\n      allow: [\"*\", registry.npmjs.org, uploads.npmjs.org]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	rules := owner.Services.Code.Network.RulesFor("/p").Within(cap)
	for host, want := range map[string]string{
		"registry.npmjs.org": "allowed by *",
		"uploads.npmjs.org":  "denied by uploads.npmjs.org in the system's cap (services.code.network in the system file)",
		"evil.example":       "evil.example:443 is outside the system's cap (services.code.network in the system file)",
		"pypi.org":           "allowed by *",
	} {
		if _, why := rules.Check(egress.Target{Name: host, Port: 443}); why != want {
			t.Errorf("%s: %q, want %q", host, why, want)
		}
	}
	if _, ok := (SystemCode{}).NetworkCap(); ok {
		t.Error("no network key: a cap")
	}
	none, err := LoadSystem(write("none.yaml", "services: {code: {network: {allow: []}}}\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := none.Services.Code.NetworkCap()
	if !owner.Services.Code.Network.RulesFor("/p").Within(c).Empty() {
		t.Error("a cap allowing nothing: network")
	}
	for text, want := range map[string]string{
		"services: {code: {network: {allow: [\"a..b\"]}}}\n":   "services.code.network",
		"services: {code: {network: {allow: [a], x: 1}}}\n":    "x",
		"services: {code: {network: [\"/home/me/Projects\"]}}": "bad.yaml:1",
	} {
		if _, err := LoadSystem(write("bad.yaml", text), false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", text, err, want)
		}
	}
}
