package code_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// TestNewExecutedFilesQuarantined: whatever runs the command (here
// unconfined, services.code.sandbox: off, so on every platform), a new
// repository, hook directory or agent folder it leaves is renamed aside
// and named in the result; other files stay.
func TestNewExecutedFilesQuarantined(t *testing.T) {
	f := newFixture(t)
	proj := filepath.Join(f.roots, "a")
	os.MkdirAll(filepath.Join(proj, ".git"), 0o755)
	os.WriteFile(filepath.Join(proj, ".git", "config"), []byte("[core]\n"), 0o644)
	tok, _, err := f.m.Mint(token.AudCode, []string{"POST:" + f.roots + "/*"}, time.Minute, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	script := "mkdir -p sub/.git .git/hooks .claude && echo x > sub/.git/config && echo x > .git/hooks/pre-commit && echo x > .claude/settings.json && echo ok > plain.txt"
	p, _ := json.Marshal(map[string]any{"command": "/bin/sh", "args": []string{"-c", script}, "cwd": proj})
	res, err := f.svc.Methods()["code.execute"](context.Background(), &service.Call{Method: "code.execute", Params: p, Caller: service.Caller{Token: tok}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.(*codeexec.Result)
	if r.ExitCode != 0 || len(r.Quarantined) != 3 || !strings.Contains(r.Stderr, "quarantined") {
		t.Fatalf("result: %+v", r)
	}
	for _, gone := range []string{"sub/.git", ".git/hooks", ".claude"} {
		if _, err := os.Lstat(filepath.Join(proj, gone)); err == nil {
			t.Errorf("%s left in place", gone)
		}
	}
	for _, kept := range []string{"plain.txt", ".git/config"} {
		if _, err := os.Lstat(filepath.Join(proj, kept)); err != nil {
			t.Errorf("%s: %v", kept, err)
		}
	}
}
