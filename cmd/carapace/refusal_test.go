package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRefusalsInCLIWords: each class of refusal a person meets from the
// CLI says what happened and what to change, in the CLI's words.
func TestRefusalsInCLIWords(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, project_roots: [~/Projects]}\n", nil)
	docs := filepath.Join(d.home, "Docs")
	os.WriteFile(filepath.Join(docs, "a.txt"), []byte("a"), 0o644)
	os.Mkdir(filepath.Join(docs, "dir"), 0o755)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"outside the folders", []string{"file", "read", "/etc/passwd"}, exitError,
			[]string{"`/etc/passwd` is outside your allowed folders (~/Docs)", "add it to services.file.paths in ~/.config/gimme/local.yaml"}},
		{"cwd outside the project roots", []string{"exec", "--cwd", "/tmp", "--", "true"}, exitError,
			[]string{"`/tmp` is outside your project roots (~/Projects)", "services.code.project_roots in ~/.config/gimme/local.yaml"}},
		{"write onto a file", []string{"file", "write", "--from", "/etc/hostname", filepath.Join(docs, "a.txt")}, exitError,
			[]string{"--mode overwrite"}},
		{"rm of a directory", []string{"file", "rm", filepath.Join(docs, "dir")}, exitError, []string{"pass -r"}},
		{"mkdir without parents", []string{"file", "mkdir", filepath.Join(docs, "x", "y")}, exitError, []string{"pass -p"}},
		{"token without a scope", []string{"token", "issue", "--aud", "file"}, exitUsage, []string{"--scope is required"}},
		{"ttl under a second", []string{"token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "500ms"}, exitUsage,
			[]string{"--ttl 500ms is shorter than the minimum, 1s"}},
		{"ttl past the maximum", []string{"token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10000h"}, exitError,
			[]string{"give --ttl from 1s"}},
		{"sandbox refused a write", []string{"exec", "--cwd", filepath.Join(d.home, "Projects", "demo"), "--", "sh", "-c", "echo x > " + filepath.Join(docs, "b.txt")}, 2,
			[]string{"the sandbox may have refused this", "services.code.project_roots"}},
	} {
		_, errOut, code := d.cli(tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, errOut)
			}
		}
		if strings.Contains(errOut, "ttl_seconds") || strings.Contains(errOut, "recursive: true") || strings.Contains(errOut, `mode "overwrite"`) {
			t.Errorf("%s: a hint in the protocol's words:\n%s", tc.name, errOut)
		}
	}
}

func TestLeewayNote(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	if n := leewayNote(map[string]any{"exp": float64(1_000_000 - 10)}, now); !strings.Contains(n, "expired 10s ago, still accepted within the 30s clock-skew leeway") {
		t.Errorf("just expired: %s", n)
	}
	if n := leewayNote(map[string]any{"exp": float64(1_000_000 + 60)}, now); !strings.Contains(n, "expires in 1m0s") || !strings.Contains(n, "30s clock-skew leeway") {
		t.Errorf("valid: %s", n)
	}
}
