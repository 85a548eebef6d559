package code

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// handedSecret is built, not written whole: the source itself must hold no
// secret (core/redact TestNoSecretsInSource).
var handedSecret = "ghp_" + "handedOver0123456789abcdefghijklmnop"

// routeSecretsFor is the stack's wiring in small: one route, github,
// whose secret is read from the store at each load.
func routeSecretsFor(t *testing.T, dir string) *RouteSecrets {
	f, err := secret.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &RouteSecrets{Store: secret.NewStores(f), Load: func(ss *secret.Stores) (*egress.Routes, *redact.Scanner, error) {
		rs := &egress.Routes{Routes: map[string]egress.Route{}, Missing: map[string]string{}}
		r, err := egress.ParseRoute("github", "https://api.github.com", "Authorization: Bearer {secret}")
		if err != nil {
			return nil, nil, err
		}
		v, err := ss.Get("github")
		if err == nil {
			r, err = r.WithSecret(string(v))
		}
		if err != nil {
			rs.Missing["github"] = err.Error()
			return rs, redact.Default(), nil
		}
		rs.Routes["github"] = r
		sc, err := redact.New([]redact.Pattern{{ID: "route-github", Regex: regexp.QuoteMeta(string(v))}})
		return rs, sc, err
	}}
}

// TestRouteSecrets: the owner hands the code service a route's secret
// (code.secrets.*, which the router reaches as secrets.* for the owner
// alone, with no token). A token, another user, a remote entry and the
// owner holding a token are refused and change nothing; the owner's set
// is a 0600 file in the service's own directory, in force for the next
// command without a restart (the route has it, command output redacts
// it), listed by name, audited by name only (before it is made: a change
// that cannot be recorded is not made), and removed again.
func TestRouteSecrets(t *testing.T) {
	key, err := token.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := token.NewMinter(key, t.TempDir()).MintNamed(token.AudCode, []string{"POST:code.local.gimme.tools/*"}, time.Minute, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "secrets")
	rs := routeSecretsFor(t, dir)
	start, sc, _ := rs.Load(rs.Store)
	s := New(Config{WarmHelpers: -1, Routes: start, Redact: sc, Secrets: rs})
	if r, _ := s.live.get(); r.Missing["github"] == "" {
		t.Fatalf("the route has a secret before any was set: %+v", r)
	}
	set, _ := json.Marshal(SecretParams{Name: "github", Value: handedSecret})
	rm, _ := json.Marshal(SecretParams{Name: "github"})
	methods := s.Methods()
	call := func(method string, c service.Caller, params json.RawMessage, notes *[]string) (any, error) {
		return methods[method](context.Background(), &service.Call{Method: method, Params: params, Caller: c,
			Notify: func(m string, p any) error {
				b, _ := json.Marshal(p)
				*notes = append(*notes, m+" "+string(b))
				return nil
			}})
	}
	var notes []string
	for _, c := range []service.Caller{
		{Via: service.ViaUnix, Token: raw},              // an agent's token
		{Via: service.ViaUnix, UID: 4242},               // another user, no token
		{Via: service.ViaWebSocket, Owner: true},        // the owner, remotely
		{Via: service.ViaUnix, Owner: true, Token: raw}, // the owner holding a token
	} {
		for _, m := range []struct {
			name   string
			params json.RawMessage
		}{{"code.secrets.set", set}, {"code.secrets.remove", rm}, {"code.secrets.list", nil}} {
			if _, err := call(m.name, c, m.params, &notes); errs.KindOf(err) != errs.Forbidden {
				t.Errorf("%s by %+v: %v, want forbidden", m.name, c, err)
			}
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) || len(notes) != 0 {
		t.Fatalf("refused calls changed something: %v, %q", err, notes)
	}

	owner := service.Caller{Via: service.ViaUnix, Owner: true}
	unrecorded := &service.Call{Method: "code.secrets.set", Params: set, Caller: owner,
		Notify: func(string, any) error { return errs.E(errs.Internal, errs.ReasonAuditUnavailable) }}
	if _, err := s.secretsSet(context.Background(), unrecorded); err == nil {
		t.Error("a set that could not be audited was made")
	}
	if _, err := os.Stat(filepath.Join(dir, "github")); !os.IsNotExist(err) {
		t.Errorf("a set that could not be audited stored the secret: %v", err)
	}
	res, err := call("code.secrets.set", owner, set, &notes)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "github"))
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("stored file: %v %v", fi, err)
	}
	r, sc := s.live.get()
	if got := r.Routes["github"]; got.Secret() != handedSecret {
		t.Errorf("the next command's route has %q", got.Secret())
	}
	if out, _ := sc.RedactString("token " + handedSecret); strings.Contains(out, handedSecret) {
		t.Errorf("command output keeps the secret: %q", out)
	}
	list, err := call("code.secrets.list", owner, nil, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if l := list.(SecretsList); fmt.Sprint(l.Names) != "[github]" {
		t.Errorf("list %+v", l)
	}
	if _, err := call("code.secrets.remove", owner, rm, &notes); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.live.get(); r.Missing["github"] == "" || len(r.Routes) != 0 {
		t.Errorf("after remove the route still works: %+v", r)
	}
	if _, err := call("code.secrets.remove", owner, rm, &notes); errs.KindOf(err) != errs.NotFound {
		t.Errorf("a second remove: %v", err)
	}
	all := fmt.Sprint(res, list, notes)
	if strings.Contains(all, handedSecret) || len(notes) != 2 || !strings.Contains(notes[0], `"reason":"secret github set"`) || !strings.Contains(notes[1], "secret github removed") {
		t.Errorf("answers or audit notes: %s", all)
	}
}

// TestRouteSecretsRefusesLinks: the store's directory swapped for a
// symbolic link (to a directory another could read) is refused, and a
// link planted under a secret's name is never read through.
func TestRouteSecretsRefusesLinks(t *testing.T) {
	base := t.TempDir()
	other := filepath.Join(base, "elsewhere")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "secrets")
	if err := os.Symlink(other, dir); err != nil {
		t.Fatal(err)
	}
	rs := routeSecretsFor(t, dir)
	s := New(Config{WarmHelpers: -1, Secrets: rs})
	set, _ := json.Marshal(SecretParams{Name: "github", Value: handedSecret})
	owner := &service.Call{Method: "code.secrets.set", Params: set, Caller: service.Caller{Via: service.ViaUnix, Owner: true}}
	if _, err := s.secretsSet(context.Background(), owner); err == nil {
		t.Error("set through a linked directory succeeded")
	}
	if ents, _ := os.ReadDir(other); len(ents) != 0 {
		t.Errorf("the link's target got %v", ents)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(other, "planted")
	if err := os.WriteFile(target, []byte("planted-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "github")); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Store.Get("github"); err == nil {
		t.Error("a planted link was read through")
	}
}
