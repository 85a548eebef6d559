package code

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
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

// TestNetworkAsksTheOwner: a connection held in ask mode is one request in
// the code service's approval queue; only the owner, on a local entry and
// without a token, lists and decides it — never the agent's token — and
// the owner's answer is what the proxy process gets.
func TestNetworkAsksTheOwner(t *testing.T) {
	key, err := token.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := token.NewMinter(key, t.TempDir()).MintNamed(token.AudCode, []string{"POST:/p/*"}, time.Minute, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{WarmHelpers: -1})
	agent := &service.Call{Caller: service.Caller{Via: service.ViaUnix, Token: raw}}
	owner := &service.Call{Caller: service.Caller{Via: service.ViaUnix, Owner: true}}
	type answer struct {
		ok  bool
		why string
	}
	answers := make(chan answer)
	ask := func() {
		go func() {
			ok, why := s.askOwner(context.Background(), agent, "/p", egress.Target{Name: "unlisted.example", Port: 443})
			answers <- answer{ok, why}
		}()
	}
	pending := func() []approval.Pending {
		for i := 0; i < 600; i++ { // the request is queued by another goroutine
			if ps := s.asks.List(); len(ps) > 0 {
				return ps
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no request queued")
		return nil
	}
	ask()
	ps := pending()
	if ps[0].Command != "network: connect to unlisted.example:443" || ps[0].Caller.Agent != "claude" {
		t.Errorf("pending %+v", ps[0])
	}
	yes := true
	params := func(id string) json.RawMessage { b, _ := json.Marshal(ApprovalsDecide{ID: id, Allow: &yes}); return b }
	for _, c := range []*service.Call{
		{Caller: agent.Caller},
		{Caller: service.Caller{Via: service.ViaWebSocket, Owner: true}},
		{Caller: service.Caller{Via: service.ViaUnix, Owner: true, Token: raw}},
	} {
		c.Params = params(ps[0].ID)
		if _, err := s.approvalsDecide(context.Background(), c); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("decide by %+v: %v, want forbidden", c.Caller, err)
		}
		if _, err := s.approvalsList(context.Background(), c); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("list by %+v: %v, want forbidden", c.Caller, err)
		}
	}
	owner.Params = params(ps[0].ID)
	if _, err := s.approvalsDecide(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; !a.ok || !strings.Contains(a.why, "allowed by the owner") {
		t.Errorf("after the owner's yes: %+v", a)
	}
	ask()
	ps = pending()
	no := false
	owner.Params, _ = json.Marshal(ApprovalsDecide{ID: ps[0].ID, Allow: &no})
	if _, err := s.approvalsDecide(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a.ok || !strings.Contains(a.why, "refused by the owner") {
		t.Errorf("after the owner's no: %+v", a)
	}
}

// TestNetworkGrantsOwnerOnly: a host the owner remembered for a token is
// listed by code.approvals.grants (id n…, the target, the token's jti,
// the directory) and ended by code.approvals.revoke, both for the owner
// alone; after the revocation the same connection asks again.
func TestNetworkGrantsOwnerOnly(t *testing.T) {
	key, err := token.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := token.NewMinter(key, t.TempDir()).MintNamed(token.AudCode, []string{"POST:/p/*"}, time.Minute, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{WarmHelpers: -1})
	agent := &service.Call{Caller: service.Caller{Via: service.ViaUnix, Token: raw}}
	owner := func(params any) *service.Call {
		b, _ := json.Marshal(params)
		return &service.Call{Caller: service.Caller{Via: service.ViaUnix, Owner: true}, Params: b}
	}
	target := egress.Target{Name: "unlisted.example", Port: 443}
	answers := make(chan bool, 1)
	ask := func() string {
		go func() {
			ok, _ := s.askOwner(context.Background(), agent, "/p", target)
			answers <- ok
		}()
		for i := 0; i < 600; i++ { // the request is queued by another goroutine
			if ps := s.asks.List(); len(ps) > 0 {
				return ps[0].ID
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("no request queued")
		return ""
	}
	id := ask()
	yes := true
	if _, err := s.approvalsDecide(context.Background(), owner(ApprovalsDecide{ID: id, Allow: &yes, RememberMS: 600_000})); err != nil {
		t.Fatal(err)
	}
	<-answers
	if ok, why := s.askOwner(context.Background(), agent, "/p", target); !ok || !strings.Contains(why, "earlier for this token") {
		t.Fatalf("remembered host: %v %q", ok, why)
	}
	res, err := s.approvalsGrants(context.Background(), owner(struct{}{}))
	if err != nil {
		t.Fatal(err)
	}
	gs := res.(NetworkGrantsResult).Grants
	if len(gs) != 1 || gs[0].ID != "n"+id || gs[0].Target != "unlisted.example:443" || gs[0].Dir != "/p" || gs[0].JTI == "" || gs[0].Uses != 1 {
		t.Fatalf("grants %+v", gs)
	}
	revoke := map[string]string{"id": "n" + id}
	for _, c := range []service.Caller{
		agent.Caller,
		{Via: service.ViaWebSocket, Owner: true},
		{Via: service.ViaUnix, Owner: true, Token: raw},
		{Via: service.ViaUnix},
	} {
		b, _ := json.Marshal(revoke)
		if _, err := s.approvalsRevoke(context.Background(), &service.Call{Caller: c, Params: b}); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("revoke by %+v: %v, want forbidden", c, err)
		}
		if _, err := s.approvalsGrants(context.Background(), &service.Call{Caller: c}); errs.KindOf(err) != errs.Forbidden {
			t.Errorf("grants by %+v: %v, want forbidden", c, err)
		}
	}
	for _, bad := range []string{"g" + id, id, "n", "nffffffff"} {
		if _, err := s.approvalsRevoke(context.Background(), owner(map[string]string{"id": bad})); errs.KindOf(err) != errs.NotFound {
			t.Errorf("revoke %q: %v, want not found", bad, err)
		}
	}
	if _, err := s.approvalsRevoke(context.Background(), owner(revoke)); err != nil {
		t.Fatal(err)
	}
	id2 := ask()
	no := false
	if _, err := s.approvalsDecide(context.Background(), owner(ApprovalsDecide{ID: id2, Allow: &no})); err != nil {
		t.Fatal(err)
	}
	if <-answers {
		t.Error("after the revocation the host went through")
	}
}
