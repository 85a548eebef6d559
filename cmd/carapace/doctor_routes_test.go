package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/secret"
)

// TestRoutesCheck: doctor fails a route whose secret is not stored, with
// the command that stores it, and passes once it is.
func TestRoutesCheck(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME", "DBUS_SESSION_BUS_ADDRESS"} {
		t.Setenv(v, "")
	}
	os.MkdirAll(filepath.Join(home, ".config", "gimme"), 0o755)
	os.WriteFile(filepath.Join(home, ".config", "gimme", "local.yaml"), []byte(
		"services:\n  code:\n    network:\n      routes:\n        github: {upstream: \"https://api.github.com\", header: \"Authorization: Bearer {secret}\"}\n"), 0o644)
	cs := routesCheck(context.Background(), &configFlags{system: config.DefaultSystemPath}, nil)
	if len(cs) != 1 || cs[0].OK || !strings.Contains(cs[0].Fix, "carapace secret set github") {
		t.Fatalf("without the secret: %+v", cs)
	}
	if cf := homeOf(os.Geteuid()); cf != home {
		t.Skipf("the owner's home is %s, not $HOME", cf)
	}
	f, _ := secret.NewFileStore(secret.DirIn(home))
	if err := f.Set("github", []byte("ghp_x1234")); err != nil {
		t.Fatal(err)
	}
	if cs := routesCheck(context.Background(), &configFlags{system: config.DefaultSystemPath}, nil); len(cs) != 1 || !cs[0].OK || strings.Contains(cs[0].Detail, "ghp_x1234") {
		t.Errorf("with the secret: %+v", cs)
	}
}
