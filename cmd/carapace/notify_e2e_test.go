//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/linux/desktop/desktoptest"
)

// TestApproveFromNotification is issue 21's "done when", through the
// real stack and a private session bus with a fake notification server:
// the owner approves from the notification, remembers "git status, git
// diff, git log in ~/Projects/demo for this agent('s token)", sees the
// grants in `carapace grants`, revokes one, and the next such command
// asks again.
func TestApproveFromNotification(t *testing.T) {
	addr := desktoptest.StartBus(t)
	srv := desktoptest.StartFakeServer(t, addr)
	d := startDevEnv(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", "", nil, nil,
		[]string{"DBUS_SESSION_BUS_ADDRESS=" + addr})
	demo := filepath.Join(d.home, "Projects", "demo")
	tok, errOut, code := d.cli("token", "issue", "--aud", "shell", "--scope", "POST:~/*", "--ttl", "10m", "--name", "claude")
	if code != 0 {
		t.Fatal(errOut)
	}
	tok = strings.TrimSpace(tok)
	run := func(cmd string) chan cliResult {
		p, _ := json.Marshal(map[string]string{"command": cmd, "cwd": demo})
		ch := make(chan cliResult, 1)
		go func() {
			o, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
			ch <- cliResult{o, e, c}
		}()
		return ch
	}
	notified := func(cmd string) desktoptest.Notified {
		t.Helper()
		select {
		case n := <-srv.Notes:
			if !strings.HasPrefix(n.Body, cmd+"\nin "+demo+"\nasked by claude") {
				t.Fatalf("notification body %q", n.Body)
			}
			return n
		case <-time.After(30 * time.Second):
			t.Fatalf("no notification for %q\nstderr:\n%s", cmd, d.stderr)
		}
		return desktoptest.Notified{}
	}
	for _, cmd := range []string{"git status", "git diff", "git log"} {
		res := run(cmd)
		n := notified(cmd)
		if !strings.Contains(strings.Join(n.Actions, "|"), "allow-scope|Allow for this agent's token") ||
			!strings.Contains(n.Body, `Allow for this agent's token covers: "`+cmd+`"… in `+demo+` and below, for claude with this token`) {
			t.Fatalf("notification %+v", n)
		}
		srv.Invoke(t, n.ID, "allow-scope")
		if r := <-res; r.code != 0 {
			t.Fatalf("%s approved from the notification: %+v", cmd, r)
		}
	}
	// Remembered: they run with no notification.
	for _, cmd := range []string{"git status --short", "git diff HEAD", "git log --oneline -3"} {
		if r := <-run(cmd); r.code != 0 {
			t.Fatalf("%s: %+v", cmd, r)
		}
	}
	select {
	case n := <-srv.Notes:
		t.Fatalf("asked again: %+v", n)
	default:
	}
	l := d.grants(t)
	if len(l.Grants) != 3 {
		t.Fatalf("grants %+v", l.Grants)
	}
	status := ""
	for _, g := range l.Grants {
		if g.Agent != "claude" || g.Scope != "token" || g.Channel != "notification" || g.Dir != demo || g.JTI == "" {
			t.Errorf("grant %+v", g)
		}
		if strings.Join(g.Prefix, " ") == "git status" {
			status = g.ID
		}
	}
	if _, errOut, code := d.cli("grants", "revoke", status); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	res := run("git status")
	n := notified("git status")
	srv.Invoke(t, n.ID, "deny")
	if r := <-res; r.code == 0 || !strings.Contains(r.err, "(denied)") {
		t.Fatalf("after revoke: %+v", r)
	}
	if r := <-run("git log"); r.code != 0 {
		t.Fatalf("git log still granted: %+v", r)
	}

	// Who decided is on record: the owner via the notification, the
	// grants, the owner's revocation.
	var byNote, byGrant, revoked int
	for _, r := range auditRecords(t, d) {
		switch {
		case r.By == audit.ByOwner && r.Decision == audit.Allow && r.Reason == "approved via notification":
			byNote++
		case r.By == audit.ByRemembered && strings.HasPrefix(r.Reason, "grant g"):
			byGrant++
		case r.By == audit.ByOwner && strings.HasPrefix(r.Reason, "revoked grant "+status):
			revoked++
		}
	}
	if byNote != 3 || byGrant != 4 || revoked != 1 {
		t.Errorf("audit: %d approvals via notification, %d by grant, %d revocations", byNote, byGrant, revoked)
	}
}
