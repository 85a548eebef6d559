package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/config"
)

// TestRouteStore: an installed code service (systemd's $STATE_DIRECTORY,
// not a dev stack) keeps the routes' secrets in <state directory>/secrets
// and nowhere else — it cannot read the owner's stores — and what it
// stores there is in its routes at the next load; a dev stack's uses the
// owner's stores.
func TestRouteStore(t *testing.T) {
	state, home := t.TempDir(), t.TempDir()
	t.Setenv("STATE_DIRECTORY", state)
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	owner := &config.Owner{}
	owner.Services.Code.Network.Routes = map[string]config.Route{"github": {Upstream: "https://api.github.com", Header: "Authorization: Bearer {secret}"}}
	st := &Settings{System: &config.System{}, Owner: owner, OwnerHome: home}
	ss, err := routeStore(st)
	if err != nil {
		t.Fatal(err)
	}
	if want := "file " + filepath.Join(state, "secrets"); ss.Where() != want {
		t.Errorf("installed store %q, want %q", ss.Where(), want)
	}
	rs := routeSecrets(st, ss)
	r, _, err := rs.Load(ss)
	if err != nil || len(r.Routes) != 0 || !strings.Contains(r.Missing["github"], "carapace secret set github") {
		t.Fatalf("before set: %+v %v", r, err)
	}
	if err := ss.Set("github", []byte("ghp_stackTest0123456789abcdefghijklmnop")); err != nil {
		t.Fatal(err)
	}
	r, sc, err := rs.Load(ss)
	if err != nil || r.Routes["github"].Secret() != "ghp_stackTest0123456789abcdefghijklmnop" {
		t.Fatalf("after set: %+v %v", r, err)
	}
	if out, _ := sc.RedactString("x ghp_stackTest0123456789abcdefghijklmnop"); strings.Contains(out, "stackTest") {
		t.Errorf("output scanner misses the route's secret: %q", out)
	}
	if fi, err := os.Stat(filepath.Join(state, "secrets", "github")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stored file: %v %v", fi, err)
	}
	st.Dev = true
	if ss, err := routeStore(st); err != nil || !strings.HasPrefix(ss.Where(), "file "+home) {
		t.Errorf("dev store %v %v", ss, err)
	}
}
