package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/redact"
)

// TestRedactionThroughStack: through the real binary, an agent's token
// reads a file holding a secret and gets the placeholder; the audit log
// counts the redaction by rule and never holds the secret; the owner's
// own `carapace file read` prints the file as it is.
func TestRedactionThroughStack(t *testing.T) {
	secret := "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n", "", nil, func(home string) {
		os.WriteFile(filepath.Join(home, "Docs", "settings.py"), []byte("TOKEN = '"+secret+"'\n"), 0o644)
	})
	p := filepath.Join(d.home, "Docs", "settings.py")
	tok := issueNamed(t, d, "file", "GET:~/Docs/*", "claude")
	params, _ := json.Marshal(map[string]string{"path": p})
	out, e, code := d.cli("call", "--token", tok, "file.read", string(params))
	if code != 0 || strings.Contains(out, secret) || !strings.Contains(out, redact.Placeholder("github-pat", []byte(secret))) {
		t.Fatalf("agent read: %d %s %s", code, out, e)
	}
	found := false
	for _, r := range auditRecords(t, d) {
		line, _ := json.Marshal(r)
		if strings.Contains(string(line), "a1B2c3D4") {
			t.Fatalf("the audit log holds the secret: %s", line)
		}
		if r.Agent == "claude" && r.Method == "file.read" && r.Redacted["github-pat"] == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit record counts the redaction:\n%s", dumpRecords(auditRecords(t, d)))
	}
	out, e, code = d.cli("file", "read", p)
	if code != 0 || !strings.Contains(out, secret) {
		t.Fatalf("the owner's CLI: %d %q %s", code, out, e)
	}
}
