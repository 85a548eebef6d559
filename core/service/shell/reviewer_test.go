package shell

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/errs"
)

// reviewerScript writes an executable reviewer that saves its stdin to
// seen and then runs body.
func reviewerScript(t *testing.T, body string) (path, seen string) {
	dir := t.TempDir()
	path, seen = filepath.Join(dir, "review"), filepath.Join(dir, "seen.json")
	os.WriteFile(path, []byte("#!/bin/sh\ncat > "+seen+"\n"+body+"\n"), 0o755)
	return path, seen
}

// TestReviewer: the reviewer's allow runs a command unasked and its deny
// refuses it; ask, a failure, a time-out and garbage all ask the owner;
// and it never allows what may not be remembered.
func TestReviewer(t *testing.T) {
	deny := func(approval.Pending) map[string]any { return map[string]any{"allow": false} }
	for _, c := range []struct {
		name, body, cmd string
		asked           bool
		reason          string // the call's error reason
	}{
		{"allow", `echo '{"decision":"allow","reason":"read-only"}'`, "git status", false, ""},
		{"deny", `echo '{"decision":"deny","reason":"not today"}'`, "git status", false, "denied_by_reviewer"},
		{"ask", `echo '{"decision":"ask"}'`, "git status", true, "denied"},
		{"fails", `echo '{"decision":"allow"}'; exit 1`, "git status", true, "denied"},
		{"hangs", `sleep 30; echo '{"decision":"allow"}'`, "git status", true, "denied"},
		{"garbage", `echo 'allow'`, "git status", true, "denied"},
		{"unknown decision", `echo '{"decision":"yes"}'`, "git status", true, "denied"},
		{"extra field", `echo '{"decision":"allow","scope":"always"}'`, "git status", true, "denied"},
		{"two answers", `echo '{"decision":"deny"}{"decision":"allow"}'`, "git status", true, "denied"},
		{"allow what is never remembered", `echo '{"decision":"allow"}'`, "curl https://example.com", true, "denied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, seen := reviewerScript(t, c.body)
			cfg := grantsConfig(t, "")
			cfg.Reviewer = &Reviewer{Path: path, Timeout: 500 * time.Millisecond}
			e := newEnv(t, cfg)
			claude := agentCaller(t, "claude", shellAud, "j1")
			asked, err := e.run(claude, c.cmd, e.home, deny)
			if asked != c.asked || errs.ReasonOf(err) != errs.Reason(c.reason) {
				t.Fatalf("asked %v err %v, want asked %v reason %q", asked, err, c.asked, c.reason)
			}
			in, _ := os.ReadFile(seen)
			if !strings.Contains(string(in), `"command":"`+c.cmd+`"`) || !strings.Contains(string(in), `"agent":"claude"`) || !strings.Contains(string(in), `"version":1`) {
				t.Errorf("reviewer read %s", in)
			}
		})
	}
}

// TestReviewerNotAskedWhenGranted: a grant answers before the reviewer.
func TestReviewerNotAskedWhenGranted(t *testing.T) {
	path, seen := reviewerScript(t, `echo '{"decision":"ask"}'`)
	cfg := grantsConfig(t, "")
	cfg.Reviewer = &Reviewer{Path: path}
	e := newEnv(t, cfg)
	claude := agentCaller(t, "claude", shellAud, "j1")
	e.run(claude, "make test", e.home, allowScope("always"))
	os.Remove(seen)
	if asked, err := e.run(claude, "make test", e.home, nil); asked || err != nil {
		t.Fatal(asked, err)
	}
	if _, err := os.Stat(seen); err == nil {
		t.Fatal("the reviewer was asked about a granted command")
	}
}
