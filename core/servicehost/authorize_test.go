package servicehost

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// TestAuthorizeRechecksHeldTokens: a token the service has verified once
// is remembered, and every later call still sees a revocation, the
// audience and the scope.
func TestAuthorizeRechecksHeldTokens(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	key, _, err := token.LoadOrCreate(token.FileKeyStore{Dir: state})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuthorizer(AuthorizerConfig{StateDir: state, Audience: token.AudCode})
	if err != nil {
		t.Fatal(err)
	}
	m := token.NewMinter(key, dir)
	tok, claims, err := m.Mint(token.AudCode, []string{"POST:/work/*"}, time.Hour, false, "agent")
	if err != nil {
		t.Fatal(err)
	}
	call := &service.Call{Method: "code.execute", Caller: service.Caller{Token: tok}}
	for i := 0; i < 3; i++ { // the first verifies, the others recheck
		if err := auth(call, "POST", "/work/x"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := auth(call, "POST", "/elsewhere"); errs.ReasonOf(err) != "scope" {
		t.Errorf("out of scope after caching: %v", err)
	}
	fileTok, _, _ := m.Mint(token.AudFile, []string{"GET:/*"}, time.Hour, false, "agent")
	fileCall := &service.Call{Method: "code.execute", Caller: service.Caller{Token: fileTok}}
	if err := auth(fileCall, "", ""); errs.ReasonOf(err) != errs.ReasonAudienceMismatch {
		t.Errorf("file token at the code service: %v", err)
	}
	if err := auth(fileCall, "", ""); errs.ReasonOf(err) != errs.ReasonAudienceMismatch {
		t.Errorf("file token, second call: %v", err)
	}
	// The router revokes it (its own handle on the same list).
	rev, err := token.OpenRevocations(filepath.Join(state, "revoked.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rev.Revoke(claims.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// The service rereads the list at most every token.RefreshInterval.
	deadline := time.Now().Add(token.RefreshInterval + 5*time.Second)
	for {
		err := auth(call, "POST", "/work/x")
		if errs.ReasonOf(err) == errs.ReasonRevoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked token still accepted after caching: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
