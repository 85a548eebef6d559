package config

import (
	"strings"
	"testing"
)

// TestSecretsKeys: redact.patterns, a folder's redact: false, the code
// service's deny_read and per-project settings are read; bad values name
// their key.
func TestSecretsKeys(t *testing.T) {
	p := write(t, "local.yaml", `
redact:
  patterns:
    - {id: acme-token, regex: "acme_[0-9a-f]{32}"}
services:
  file:
    paths:
      - {path: ~/Reference, redact: false}
  code:
    project_roots: [~/Projects]
    deny_read: ["*.tfstate"]
    projects:
      - {path: ~/Projects/site, redact: false, deny_read: [secrets/]}
`)
	c, err := LoadOwner(p, "/home/al")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Redact.Patterns) != 1 || c.Redact.Patterns[0].ID != "acme-token" {
		t.Errorf("patterns %+v", c.Redact.Patterns)
	}
	if !c.Services.File.Paths[0].NoRedact() {
		t.Errorf("folder redact %+v", c.Services.File.Paths[0])
	}
	code := c.Services.Code
	if code.DenyRead[0] != "*.tfstate" || len(code.Projects) != 1 || code.Projects[0].Path != "/home/al/Projects/site" || !code.Projects[0].NoRedact() || code.Projects[0].DenyRead[0] != "secrets/" {
		t.Errorf("code %+v", code)
	}
	for _, tc := range []struct{ body, key string }{
		{"redact:\n  patterns:\n    - {id: Bad, regex: abcdef}\n", "redact.patterns"},
		{"redact:\n  patterns:\n    - {id: nokw, regex: \"[0-9]{9}\"}\n", "redact.patterns"},
		{"services:\n  code:\n    deny_read: [\"[\"]\n", "services.code.deny_read"},
		{"services:\n  code:\n    projects: [{path: rel}]\n", "services.code.projects[0].path"},
		{"services:\n  file:\n    paths: [{path: ~/x, redakt: false}]\n", "redakt"},
	} {
		_, err := LoadOwner(write(t, "local.yaml", tc.body), "/home/al")
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.key)
		}
	}
}
