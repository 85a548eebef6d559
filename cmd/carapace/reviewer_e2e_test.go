package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/audit"
)

// reviewerStack starts a dev stack whose shell service asks the reviewer
// script body (services.shell.reviewer) with timeout, and issues a shell
// token for agent "claude".
func reviewerStack(t *testing.T, body, timeout string) (*devStack, string) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	script := filepath.Join(dir, "review")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m, reviewer: "+script+", reviewer_timeout: "+timeout+"}\n", nil)
	tok, errOut, code := d.cli("token", "issue", "--aud", "shell", "--scope", "POST:~/*", "--ttl", "10m", "--name", "claude")
	if code != 0 {
		t.Fatal(errOut)
	}
	return d, strings.TrimSpace(tok)
}

// TestReviewerAllowsThroughTheStack: the owner's reviewer answers allow
// for a plain command; it runs without a prompt, and the audit log says
// the reviewer decided, with its reason.
func TestReviewerAllowsThroughTheStack(t *testing.T) {
	d, tok := reviewerStack(t, "cat >/dev/null\necho '{\"decision\": \"allow\", \"reason\": \"plain read in a project\"}'\n", "30s")
	demo := filepath.Join(d.home, "Projects", "demo")
	p, _ := json.Marshal(map[string]string{"command": "echo reviewed", "cwd": demo})
	out, errOut, code := d.cli("call", "--token", tok, "shell.execute", string(p))
	if code != 0 || !strings.Contains(out, "reviewed") {
		t.Fatalf("reviewed command: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
	}
	found := false
	for _, r := range auditRecords(t, d) {
		if r.Method == "shell.execute" && r.By == audit.ByReviewer && r.Decision == audit.Allow &&
			strings.Contains(r.Reason, "plain read in a project") && r.Ref != 0 {
			found = true
		}
		if r.Method == "shell.execute" && r.By == audit.ByOwner {
			t.Errorf("the owner was asked: %+v", r)
		}
	}
	if !found {
		t.Error("no audit record by the reviewer")
	}
}

// TestReviewerHangsThroughTheStack: a reviewer that hangs past its
// time-out is killed and the owner is asked (fail closed, never allow);
// the owner's approval runs the command.
func TestReviewerHangsThroughTheStack(t *testing.T) {
	d, tok := reviewerStack(t, "exec sleep 600\n", "2s")
	demo := filepath.Join(d.home, "Projects", "demo")
	p, _ := json.Marshal(map[string]string{"command": "echo after-hang", "cwd": demo})
	res := make(chan cliResult, 1)
	go func() {
		o, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
		res <- cliResult{o, e, c}
	}()
	id := d.waitPending(t, "echo after-hang")
	if _, errOut, code := d.cli("approve", id); code != 0 {
		t.Fatalf("approve: %d %q", code, errOut)
	}
	if r := <-res; r.code != 0 || !strings.Contains(r.out, "after-hang") {
		t.Fatalf("after the owner's approval: %+v", r)
	}
	var owner, reviewer bool
	for _, r := range auditRecords(t, d) {
		if r.Method != "shell.execute" {
			continue
		}
		owner = owner || (r.By == audit.ByOwner && r.Decision == audit.Allow && r.Approval == id)
		reviewer = reviewer || r.By == audit.ByReviewer
	}
	if !owner || reviewer {
		t.Errorf("audit: owner's approval %v, a reviewer decision %v", owner, reviewer)
	}
}
