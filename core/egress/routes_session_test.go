package egress

import (
	"encoding/json"
	"testing"
)

// TestSessionConfigCarriesRoutes: the routes, secrets included, reach the
// proxy process through the session config and come out as they went in;
// a route that no longer parses fails the session rather than going
// without its checks; routes set but all missing still claim their
// requests (answered 503), not passed on as ordinary traffic.
func TestSessionConfigCarriesRoutes(t *testing.T) {
	r, err := ParseRoute("github", "https://api.github.com/base", "Authorization: Bearer {secret}")
	if err != nil {
		t.Fatal(err)
	}
	if r, err = r.WithSecret("ghp_session1234"); err != nil {
		t.Fatal(err)
	}
	var cfg SessionConfig
	cfg.SetRoutes(&Routes{Routes: map[string]Route{"github": r}, Missing: map[string]string{"gitlab": "no secret"}})
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back SessionConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	p, err := back.Proxy(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.Routes.Routes["github"]
	if !ok || got.Secret() != "ghp_session1234" || got.value != "Bearer ghp_session1234" || got.Upstream.String() != "https://api.github.com/base" {
		t.Errorf("route after the trip: %+v", got)
	}
	if p.Routes.Missing["gitlab"] != "no secret" || p.Routes.Transport == nil {
		t.Errorf("missing %v, transport %v", p.Routes.Missing, p.Routes.Transport)
	}

	back.Routes[0].Upstream = "http://api.github.com" // plain http off loopback
	if _, err := back.Proxy(nil); err == nil {
		t.Error("a route that does not parse was accepted")
	}

	var none SessionConfig
	none.SetRoutes(&Routes{})
	if p, err := none.Proxy(nil); err != nil || p.Routes == nil {
		t.Errorf("routes set but none usable: %v %v", p, err)
	}
	var unset SessionConfig
	unset.SetRoutes(nil)
	if p, err := unset.Proxy(nil); err != nil || p.Routes != nil {
		t.Errorf("no routes: %v %v", p, err)
	}
}
