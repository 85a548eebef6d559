package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// grantsOut is `carapace grants --json`.
func (d *devStack) grants(t *testing.T) grantsList {
	t.Helper()
	out, errOut, code := d.cli("grants", "--json")
	var l grantsList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("grants: %d %q %q", code, out, errOut)
	}
	return l
}

// agentRun runs command in dir with tok through the router; it returns
// the CLI's exit code and stderr.
func (d *devStack) agentRun(tok, command, dir string) (int, string) {
	p, _ := json.Marshal(map[string]string{"command": command, "cwd": dir})
	_, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
	return c, e
}

// TestGrantsThroughTheStack: the owner remembers "git status in demo",
// the same agent's next git status there runs unasked, `carapace grants`
// shows the grant and the agent's token (with its last use), revoking
// the grant makes the next one ask, revoking the token refuses its next
// call, and grants survive a restart of the shell service.
func TestGrantsThroughTheStack(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", nil)
	demo := filepath.Join(d.home, "Projects", "demo")
	tok, errOut, code := d.cli("token", "issue", "--aud", "shell", "--scope", "POST:~/*", "--ttl", "10m", "--name", "claude")
	if code != 0 {
		t.Fatal(errOut)
	}
	tok = strings.TrimSpace(tok)
	ask := func(cmd string) chan cliResult {
		p, _ := json.Marshal(map[string]string{"command": cmd, "cwd": demo})
		ch := make(chan cliResult, 1)
		go func() {
			o, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
			ch <- cliResult{o, e, c}
		}()
		return ch
	}
	res := ask("git status")
	id := d.waitPending(t, "git status")
	out, errOut, code := d.cli("approve", id, "--scope", "always")
	if code != 0 || !strings.Contains(out, "remembered as grant g"+id) || !strings.Contains(out, `"git status"… in `+demo) || !strings.Contains(out, "for claude") {
		t.Fatalf("approve --scope always: %d %q %q", code, out, errOut)
	}
	<-res
	if c, e := d.agentRun(tok, "git status --short", demo); c != 0 {
		t.Fatalf("remembered git status: %d %s", c, e)
	}
	l := d.grants(t)
	if len(l.Grants) != 1 || l.Grants[0].ID != "g"+id || l.Grants[0].Agent != "claude" || l.Grants[0].Uses != 1 {
		t.Fatalf("grants %+v", l.Grants)
	}
	var claude *struct{ jti string }
	for _, tk := range l.Tokens {
		if tk.Agent == "claude" && tk.Aud == "shell.local.gimme.tools" && !tk.LastUsed.IsZero() && !tk.Exp.IsZero() {
			claude = &struct{ jti string }{tk.JTI}
		}
	}
	if claude == nil {
		t.Fatalf("claude's token not listed with its last use: %+v", l.Tokens)
	}
	if out, _, _ := d.cli("grants"); !strings.Contains(out, "g"+id) || !strings.Contains(out, "approval (always)") || !strings.Contains(out, claude.jti) {
		t.Errorf("grants table %q", out)
	}

	// doctor counts the grants that never end.
	out, _, _ = d.cli("doctor", "--json")
	var checks []check
	json.Unmarshal([]byte(out), &checks)
	found := false
	for _, c := range checks {
		if c.Name == "remembered approvals" {
			found = c.OK && c.Warn && c.Detail == "1 live, 1 until revoked" && strings.Contains(c.Fix, "carapace grants revoke")
		}
	}
	if !found {
		t.Errorf("doctor: %s", out)
	}

	// Grants outlive the shell service: kill it; the supervisor restarts it.
	restartShell(t, d)
	if c, e := d.agentRun(tok, "git status", demo); c != 0 {
		t.Fatalf("after restart: %d %s", c, e)
	}

	if _, errOut, code := d.cli("grants", "revoke", "g"+id); code != 0 || !strings.Contains(errOut, "revoked approval g"+id) {
		t.Fatalf("revoke: %d %q", code, errOut)
	}
	res = ask("git status")
	id2 := d.waitPending(t, "git status")
	d.cli("deny", id2)
	if r := <-res; r.code == 0 || !strings.Contains(r.err, "(denied)") {
		t.Fatalf("after revoke: %+v", r)
	}

	// Revoking the token refuses its next call.
	if _, errOut, code := d.cli("grants", "revoke", claude.jti); code != 0 || !strings.Contains(errOut, "revoked token") {
		t.Fatalf("revoke token: %d %q", code, errOut)
	}
	if c, e := d.agentRun(tok, "git status", demo); c == 0 || !strings.Contains(e, "revoked") {
		t.Fatalf("revoked token: %d %q", c, e)
	}
	if _, errOut, code := d.cli("grants", "revoke", "nope"); code == 0 || !strings.Contains(errOut, "no such grant") || !strings.Contains(errOut, "hint:") {
		t.Fatalf("revoke unknown: %d %q", code, errOut)
	}
}

// restartShell kills the shell service and waits until the supervisor
// has it serving again.
func restartShell(t *testing.T, d *devStack) {
	t.Helper()
	if out, errOut, code := d.cli("restart", "shell"); code != 0 {
		t.Fatalf("restart shell: %d %q %q", code, out, errOut)
	}
	for range 200 {
		if _, _, code := d.cli("approvals", "--json"); code == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("shell service did not come back")
}
