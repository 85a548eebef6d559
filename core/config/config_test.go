package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOwnerWebSpecShape(t *testing.T) {
	p := write(t, "local.yaml", `
services:
  file:
    enabled: true
    paths:
      - ~/Documents
      - {path: ~/Reference, mode: ro, deny: ["*.sqlite"], deny_write: [Makefile]}
  code:
    enabled: true
    project_roots: [~/Projects, /srv/code]
    warm_helpers: 4
  shell:
    enabled: false
  app:
    enabled: true
    allowed_apps: ["Visual Studio Code", "Terminal", "Finder"]
`)
	c, err := LoadOwner(p, "/home/al")
	if err != nil {
		t.Fatal(err)
	}
	f := c.Services.File.Paths
	if len(f) != 2 || f[0].Path != "/home/al/Documents" || f[0].ReadOnly || f[1].Path != "/home/al/Reference" || !f[1].ReadOnly || f[1].Deny[0] != "*.sqlite" || f[1].DenyWrite[0] != "Makefile" {
		t.Errorf("paths %+v", f)
	}
	if r := c.Services.Code.ProjectRoots; r[0] != "/home/al/Projects" || r[1] != "/srv/code" {
		t.Errorf("roots %v", r)
	}
	if c.Services.Code.WarmHelpers != 4 {
		t.Errorf("warm_helpers %d", c.Services.Code.WarmHelpers)
	}
	if c.Services.Shell.Enabled || len(c.Services.App.AllowedApps) != 3 {
		t.Errorf("shell/app %+v", c.Services)
	}
}

func TestMissingOwnerFileIsDefaults(t *testing.T) {
	c, err := LoadOwner(filepath.Join(t.TempDir(), "none.yaml"), "/h")
	if err != nil || !c.Services.File.Enabled || c.Services.Shell.Enabled || c.Services.File.Paths[0].Path != "/h/Documents" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}

// TestErrorsNameFileLineKey: every refusal says where and what.
func TestErrorsNameFileLineKey(t *testing.T) {
	for _, tc := range []struct {
		owner bool
		body  string
		want  []string
	}{
		{true, "services:\n  file:\n    enabled: true\n    pathz: [~/x]\n", []string{"local.yaml:4", `"pathz"`}},
		{true, "services:\n  file:\n    paths:\n      - {path: ~/x, mod: ro}\n", []string{"local.yaml:4", `"mod"`}},
		{true, "services:\n  file:\n    paths:\n      - {path: ~/x, mode: rx}\n", []string{"local.yaml:4", "mode"}},
		{true, "services:\n  file:\n    paths:\n      - {path: ~/x, deny_writes: [a]}\n", []string{"local.yaml:4", `"deny_writes"`, "deny_write"}},
		{true, "services:\n  file:\n    deny_write: [\"[x\"]\n", []string{"services.file.deny_write", `"[x"`, "syntax"}},
		{true, "services:\n  file:\n    paths:\n      - {path: ~/x, deny_write: [\"a/[\"]}\n", []string{"services.file.paths[0].deny_write", "syntax"}},
		{true, "services:\n  file:\n    deny: [\"/\"]\n", []string{"services.file.deny", "empty"}},
		{true, "services:\n  code:\n    project_roots: [relative/dir]\n", []string{"services.code.project_roots[0]", "absolute"}},
		{true, "services:\n  code:\n    timeout: soon\n", []string{"local.yaml:3", "duration"}},
		{true, "services:\n  code:\n    warm_helpers: -5\n", []string{"services.code.warm_helpers"}},
		{true, "services:\n  code:\n    policy:\n      - {match: [git], decision: maybe}\n", []string{"services.code.policy"}},
		{false, "limits:\n  max_message_bytes: lots\n", []string{"carapace.yaml:2", "size"}},
		{false, "websocket:\n  listen: 0.0.0.0:7001\n", []string{"websocket.listen", "loopback"}},
		{false, "relay:\n  url: ws://relay.example/t\n", []string{"relay.url", "wss://"}},
		{false, "owner: no-such-user-here\n", []string{"owner"}},
		{false, "bogus: 1\n", []string{"carapace.yaml:1", `"bogus"`}},
	} {
		var err error
		if tc.owner {
			_, err = LoadOwner(write(t, "local.yaml", tc.body), "/h")
		} else {
			_, err = LoadSystem(write(t, "carapace.yaml", tc.body), false)
		}
		if err == nil {
			t.Errorf("%q: no error", tc.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.body, err, w)
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "1KiB": 1024, "1 MiB": 1 << 20, "2GiB": 2 << 30, "3MB": 3 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-1", "1TiB", "x", "99999999999GiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func FuzzConfigFiles(f *testing.F) {
	f.Add([]byte("services:\n  file:\n    paths: [~/a, {path: /b, mode: ro}]\n"), true)
	f.Add([]byte("limits: {max_message_bytes: 1MiB, idle_timeout: 5m}\nissuers: [{issuer: x, jwks_file: /y}]\n"), false)
	f.Fuzz(func(t *testing.T, body []byte, owner bool) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if owner {
			c, err := LoadOwner(p, "/h")
			if err == nil {
				for _, fo := range c.Services.File.Paths {
					if !filepath.IsAbs(fo.Path) {
						t.Fatalf("accepted a relative folder %q", fo.Path)
					}
				}
			}
			return
		}
		LoadSystem(p, false)
	})
}

func TestNetworkShape(t *testing.T) {
	p := write(t, "local.yaml", `
services:
  code:
    project_roots: [~/Projects]
    network:
      allow: ["packages.example.org", "*.files.example.net", "api.github.com:443"]
      deny: ["bad.files.example.net"]
      projects:
        ~/Projects/webapp: {allow: ["127.0.0.1:8443", "*"], deny: ["api.github.com"]}
`)
	c, err := LoadOwner(p, "/home/al")
	if err != nil {
		t.Fatal(err)
	}
	n := c.Services.Code.Network
	if !n.Any() {
		t.Error("Any")
	}
	if w := n.WholeNetwork(); len(w) != 1 || !strings.Contains(w[0], `projects["/home/al/Projects/webapp"]`) {
		t.Errorf("WholeNetwork = %q", w)
	}
	other := n.RulesFor("/home/al/Projects/cli")
	web := n.RulesFor("/home/al/Projects/webapp/sub")
	if len(other.Allow) != 3 || len(other.Deny) != 1 || other.Everything() {
		t.Errorf("other project: %+v", other)
	}
	if len(web.Allow) != 5 || len(web.Deny) != 2 || !web.Everything() {
		t.Errorf("webapp: %+v", web)
	}
	if n.RulesFor("/home/al/Projects/webapp2").Everything() {
		t.Error("a look-alike prefix got the project's rules")
	}
}

func TestNetworkOldListRefused(t *testing.T) {
	p := write(t, "local.yaml", "services:\n  code:\n    network: [~/Projects/webapp]\n")
	_, err := LoadOwner(p, "/home/al")
	if err == nil {
		t.Fatal("the old list of roots was accepted")
	}
	for _, want := range []string{p + ":3:", "services.code.network", "allow: [hosts]", `allow: ["*"]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestNetworkBadRules(t *testing.T) {
	for _, body := range []string{
		`network: {allow: ["::1"]}`,
		`network: {deny: ["host:99999"]}`,
		`network: {allow: ["2130706433"]}`,
		`network: {projects: {relative/dir: {allow: [a.example]}}}`,
		`network: {projects: {~/p: {allow: ["a b"]}}}`,
		`network: {alow: [a.example]}`,
		`network: "*"`,
	} {
		p := write(t, "local.yaml", "services:\n  code:\n    "+body+"\n")
		_, err := LoadOwner(p, "/h")
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want an error naming the file", body, err)
		}
	}
}

// TestPolicyExamplesNameFileLine: a shell policy rule whose example it
// does not match fails the load with the file, the rule's line and key.
func TestPolicyExamplesNameFileLine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "local.yaml")
	os.WriteFile(path, []byte("services:\n  shell:\n    enabled: true\n    policy:\n      - pattern: [git, push]\n        decision: prompt\n        justification: pushes leave the machine\n        examples: [\"git pull\"]\n"), 0o644)
	_, err := LoadOwner(path, dir)
	if err == nil || !strings.Contains(err.Error(), path+":5: services.shell.policy: policy rule 1 (line 5): example \"git pull\" does not match [git push]") {
		t.Fatalf("load: %v", err)
	}
}

// TestShellReviewerConfig: the reviewer is an absolute path, its time-out
// at most 10m.
func TestShellReviewerConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "local.yaml")
	for doc, want := range map[string]string{
		"services:\n  shell: {enabled: true, reviewer: review.sh}\n":                     "services.shell.reviewer: expected an absolute path",
		"services:\n  shell: {enabled: true, reviewer: /bin/r, reviewer_timeout: 1h}\n":  "services.shell.reviewer_timeout",
		"services:\n  shell: {enabled: true, reviewer: /bin/r, reviewer_args: [-x]}\n":   "",
		"services:\n  shell: {enabled: true, reviewer: /bin/r, reviewer_timeout: 30s}\n": "",
	} {
		os.WriteFile(path, []byte(doc), 0o644)
		_, err := LoadOwner(path, dir)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}
