package code_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/token"
)

// fixture is a code service checking tokens the way `carapace serve code`
// does, with a minter standing in for the router.
type fixture struct {
	svc   *code.Service
	m     *token.Minter
	roots string
	auth  servicehost.Authorize
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	key, _, err := token.LoadOrCreate(token.FileKeyStore{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := servicehost.NewAuthorizer(servicehost.AuthorizerConfig{StateDir: state, Audience: token.AudCode})
	if err != nil {
		t.Fatal(err)
	}
	roots := filepath.Join(dir, "Projects")
	for _, d := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(roots, d), 0o755)
	}
	svc := code.New(code.Config{ProjectRoots: []string{roots}, SandboxOff: true, Authorize: auth})
	return &fixture{svc: svc, m: token.NewMinter(key, dir), roots: roots, auth: auth}
}

func (f *fixture) exec(t *testing.T, aud string, scopes []string, cwd string) error {
	t.Helper()
	tok := ""
	if aud != "" {
		var err error
		if tok, _, err = f.m.Mint(aud, scopes, time.Minute, false, "test"); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := json.Marshal(map[string]any{"command": "/bin/true", "cwd": cwd})
	call := &service.Call{Method: "code.execute", Params: p, Caller: service.Caller{Token: tok}}
	_, err := f.svc.Methods()["code.execute"](context.Background(), call)
	return err
}

// TestServiceReverifies: the service refuses on its own what the router
// should have refused, and a symlink the router cannot see.
func TestServiceReverifies(t *testing.T) {
	f := newFixture(t)
	a, b := filepath.Join(f.roots, "a"), filepath.Join(f.roots, "b")
	if err := f.exec(t, token.AudCode, []string{"POST:" + a + "/*"}, a); err != nil {
		t.Fatalf("allowed call: %v", err)
	}
	// A link inside a's subtree leading to b: lexically in scope, really not.
	os.Symlink(b, filepath.Join(a, "link"))
	for _, tc := range []struct {
		name, aud string
		scopes    []string
		cwd       string
		reason    string
	}{
		{"no token", "", nil, a, "malformed"},
		{"file token", token.AudFile, []string{"GET:/*"}, a, "audience_mismatch"},
		{"other project", token.AudCode, []string{"POST:" + a + "/*"}, b, "scope"},
		{"symlink out of scope", token.AudCode, []string{"POST:" + a + "/*"}, filepath.Join(a, "link"), "scope"},
		{"scratch", token.AudCode, []string{"POST:" + a + "/*"}, "", "scope"},
	} {
		err := f.exec(t, tc.aud, tc.scopes, tc.cwd)
		if string(errs.ReasonOf(err)) != tc.reason {
			t.Errorf("%s: got %v, want reason %s", tc.name, err, tc.reason)
		}
	}
	if err := f.exec(t, token.AudCode, []string{"POST:" + service.CodeScratch}, ""); err != nil {
		t.Errorf("scratch with a scratch token: %v", err)
	}
}

func TestNoAuthorizerRefuses(t *testing.T) {
	svc := code.New(code.Config{SandboxOff: true})
	_, err := svc.Methods()["code.execute"](context.Background(), &service.Call{Method: "code.execute", Params: json.RawMessage(`{"command":"/bin/true"}`)})
	if errs.KindOf(err) != errs.Unavailable || errs.ReasonOf(err) != "no_authorizer" {
		t.Fatalf("got %v", err)
	}
}
