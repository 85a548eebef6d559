package config

import (
	"strings"
	"testing"
)

func TestNetworkRoutes(t *testing.T) {
	p := write(t, "local.yaml", `
services:
  code:
    network:
      routes:
        github: {upstream: "https://api.github.com", header: "Authorization: Bearer {secret}"}
        npm: {upstream: "https://registry.npmjs.org", header: "Authorization: Bearer {secret}", secret: npm.token}
`)
	c, err := LoadOwner(p, "/home/al")
	if err != nil {
		t.Fatal(err)
	}
	n := c.Services.Code.Network
	if !n.Any() || len(n.Routes) != 2 || n.Routes["github"].SecretName("github") != "github" || n.Routes["npm"].SecretName("npm") != "npm.token" {
		t.Errorf("routes: %+v", n.Routes)
	}
}

// TestNetworkBadRoutes: a bad route names the file, the line and the key.
func TestNetworkBadRoutes(t *testing.T) {
	for _, c := range []struct{ route, says string }{
		{`{upstream: "http://api.github.com", header: "Authorization: Bearer {secret}"}`, "loopback"},
		{`{upstream: "https://api.github.com", header: "Authorization: Bearer"}`, "{secret}"},
		{`{upstream: "https://api.github.com"}`, "header"},
		{`{upstream: "https://a@api.github.com", header: "A: {secret}"}`, "without user"},
		{`{upstream: "https://api.github.com", header: "A: {secret}", secret: "../x"}`, "secret"},
		{`{upstream: "https://api.github.com", header: "A: {secret}", sekret: x}`, "unknown key"},
		{`"https://api.github.com"`, "is {upstream"},
	} {
		p := write(t, "local.yaml", "services:\n  code:\n    network:\n      routes:\n        github: "+c.route+"\n")
		_, err := LoadOwner(p, "/home/al")
		if err == nil {
			t.Errorf("%s passed", c.route)
			continue
		}
		for _, want := range []string{p + ":5:", "routes.github", c.says} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not say %q", c.route, err, want)
			}
		}
	}
}
