package main

// End-to-end tests of the shell service's approvals and the app service,
// through the real binary: a request waits, the owner lists and answers
// it with the CLI, and the answer reaches the requester.

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/service/shell"
)

type cliResult struct {
	out, err string
	code     int
}

// shellRequest starts `carapace call shell.execute` in the background.
func (d *devStack) shellRequest(command, cwd string) chan cliResult {
	p, _ := json.Marshal(map[string]string{"command": command, "cwd": cwd})
	ch := make(chan cliResult, 1)
	tok := issue(d.t, d, "shell", "POST:~/*") // the agent's token: it may ask, never approve
	go func() {
		o, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
		ch <- cliResult{o, e, c}
	}()
	return ch
}

// waitPending polls `carapace approvals --json` until a request for
// command is listed.
func (d *devStack) waitPending(t *testing.T, command string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l shell.ListResult
		out, errOut, code := d.cli("approvals", "--json")
		if code != 0 {
			t.Fatalf("approvals: %d %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("approvals --json: %v %q", err, out)
		}
		for _, p := range l.Pending {
			if p.Command == command {
				if p.Caller.UID != os.Geteuid() || p.Caller.Via != "unix" || p.Caller.PID == 0 || p.Cwd == "" {
					t.Errorf("pending %+v", p)
				}
				return p.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q never listed; last %s\nstderr:\n%s", command, out, d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestShellApprovalFlow(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", nil)
	if out, _, _ := d.cli("approvals"); out != "" {
		t.Fatalf("approvals with none waiting printed %q", out)
	}

	// Approve: the command runs and its output reaches the requester.
	cmd := "echo approved-run; pwd; grep NoNewPrivs /proc/self/status"
	res := d.shellRequest(cmd, d.home)
	id := d.waitPending(t, cmd)
	if out, _, _ := d.cli("approvals"); !strings.Contains(out, id) || !strings.Contains(out, "approved-run") || !strings.Contains(out, "uid ") {
		t.Errorf("approvals table %q", out)
	}
	if out, errOut, code := d.cli("approve", id); code != 0 || strings.TrimSpace(out) != "approved "+id {
		t.Fatalf("approve: %d %q %q", code, out, errOut)
	}
	r := <-res
	var run struct {
		Stdout   string
		ExitCode int `json:"exit_code"`
	}
	json.Unmarshal([]byte(r.out), &run)
	if r.code != 0 || run.Stdout != "approved-run\n"+d.home+"\nNoNewPrivs:\t1\n" || run.ExitCode != 0 {
		t.Fatalf("approved run: %d %q %q", r.code, r.out, r.err)
	}

	// Deny: -32006, and the command does not run.
	marker := filepath.Join(d.home, "denied-ran")
	res = d.shellRequest("touch "+marker, d.home)
	id = d.waitPending(t, "touch "+marker)
	if out, errOut, code := d.cli("deny", id); code != 0 || strings.TrimSpace(out) != "denied "+id {
		t.Fatalf("deny: %d %q %q", code, out, errOut)
	}
	r = <-res
	if r.code != 1 || !strings.Contains(r.err, "[-32006]") || !strings.Contains(r.err, "(denied)") {
		t.Fatalf("denied request: %d %q %q", r.code, r.out, r.err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a denied command ran")
	}

	// A decision on an id that is not waiting.
	if _, errOut, code := d.cli("approve", id); code != 1 || !strings.Contains(errOut, "no_such_approval") || !strings.Contains(errOut, "hint:") {
		t.Fatalf("approve twice: %d %q", code, errOut)
	}

	// Remembered: approved once --for 10m, the same command runs again
	// without being listed.
	res = d.shellRequest("echo remembered", d.home)
	id = d.waitPending(t, "echo remembered")
	if out, _, code := d.cli("approve", id, "--for", "10m"); code != 0 || !strings.Contains(out, "without asking until") {
		t.Fatalf("approve --for: %d %q", code, out)
	}
	<-res
	shellTok := issue(t, d, "shell", "POST:~/*")
	if o, e, code := d.cli("call", "--token", shellTok, "shell.execute", `{"command":"echo remembered","cwd":"`+d.home+`"}`); code != 0 || !strings.Contains(o, "remembered\\n") {
		t.Fatalf("remembered run: %d %q %q", code, o, e)
	}

	// A forbidden command is refused before anyone is asked.
	if _, errOut, code := d.cli("call", "--token", shellTok, "shell.execute", `{"command":"sudo id"}`); code != 1 || !strings.Contains(errOut, "denied_by_rule") {
		t.Fatalf("sudo: %d %q", code, errOut)
	}
}

func TestShellApprovalWatch(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true}\n", nil)
	w := exec.Command(binPath, "approvals", "--watch", "--json")
	w.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket}
	out, err := w.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Process.Kill(); w.Wait() }()
	res := d.shellRequest("echo watched", d.home)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var p struct{ ID, Command string }
	select {
	case l := <-lines:
		json.Unmarshal([]byte(l), &p)
	case <-time.After(20 * time.Second):
		t.Fatal("--watch printed nothing")
	}
	if p.Command != "echo watched" || p.ID == "" {
		t.Fatalf("watched %+v", p)
	}
	d.cli("deny", p.ID)
	<-res
}

func TestShellApprovalTimeout(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 300ms}\n", nil)
	marker := filepath.Join(d.home, "late")
	r := <-d.shellRequest("touch "+marker, d.home)
	if r.code != 1 || !strings.Contains(r.err, "[-32006]") || !strings.Contains(r.err, "approval_timeout") || !strings.Contains(r.err, "services.shell.approval_timeout") {
		t.Fatalf("timed-out request: %d %q %q", r.code, r.out, r.err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a timed-out command ran")
	}
	if out, _, _ := d.cli("approvals", "--json"); !strings.Contains(out, `"pending": []`) {
		t.Fatalf("timed-out request still listed: %s", out)
	}
}

// TestAppOpen installs a desktop entry in the owner's data home whose
// program records its arguments, and opens it through the router.
func TestAppOpen(t *testing.T) {
	d := startDev(t, "services:\n  app: {enabled: true, allowed_apps: [Recorder, recorder-evil]}\n", nil)
	apps := filepath.Join(d.home, ".local", "share", "applications")
	os.MkdirAll(apps, 0o755)
	rec := filepath.Join(d.home, "recorder.sh")
	os.WriteFile(rec, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+d.home+"/ran-$1.tmp\" && mv \""+d.home+"/ran-$1.tmp\" \""+d.home+"/ran-$1\"\n"), 0o755)
	pwned := filepath.Join(d.home, "pwned")
	entries := map[string]string{
		"recorder.desktop":      "[Desktop Entry]\nType=Application\nName=Recorder\nExec=" + rec + " plain\n",
		"recorder-evil.desktop": "[Desktop Entry]\nType=Application\nName=Evil\nExec=" + rec + " evil ; touch " + pwned + " $(touch " + pwned + ")\n",
		"other.desktop":         "[Desktop Entry]\nType=Application\nName=Other\nExec=" + rec + " other\n",
	}
	for name, body := range entries {
		os.WriteFile(filepath.Join(apps, name), []byte(body), 0o644)
	}
	tokOut, errOut, code := d.cli("token", "issue", "--aud", "app", "--scope", "POST:/Recorder", "--scope", "POST:/recorder-evil", "--ttl", "10m")
	if code != 0 {
		t.Fatalf("token issue: %s", errOut)
	}
	appTok := strings.TrimSpace(tokOut)
	out, errOut, code := d.cli("call", "--token", appTok, "app.list")
	if code != 0 || !strings.Contains(out, `"recorder.desktop"`) || !strings.Contains(out, `"recorder-evil.desktop"`) || strings.Contains(out, "other.desktop") {
		t.Fatalf("app.list: %d %s %s", code, out, errOut)
	}
	for _, app := range []string{"Recorder", "recorder-evil"} {
		if _, errOut, code := d.cli("call", "--token", appTok, "app.open", `{"app":"`+app+`"}`); code != 0 {
			t.Fatalf("open %s: %d %s\n%s", app, code, errOut, d.stderr)
		}
	}
	if got := waitFile(t, filepath.Join(d.home, "ran-plain")); got != "plain\n" {
		t.Errorf("plain args %q", got)
	}
	if got := waitFile(t, filepath.Join(d.home, "ran-evil")); got != "evil\n;\ntouch\n"+pwned+"\n$(touch\n"+pwned+")\n" {
		t.Errorf("evil args %q", got)
	}
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("the Exec line went through a shell")
	}
	// The owner cannot mint a token for an app outside allowed_apps, and
	// this token does not cover one: the router refuses before the app
	// service (which refuses too: app_not_allowed, tested in core/service/app).
	if _, errOut, code := d.cli("token", "issue", "--aud", "app", "--scope", "POST:/Other", "--ttl", "10m"); code != 1 || !strings.Contains(errOut, "scope_too_wide") {
		t.Fatalf("minted a token for a not-allowed app: %d %q", code, errOut)
	}
	_, errOut, code = d.cli("call", "--token", appTok, "app.open", `{"app":"Other"}`)
	if code != 1 || !strings.Contains(errOut, "[-32003]") || !strings.Contains(errOut, "(scope)") {
		t.Fatalf("not allowed: %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(d.home, "ran-other")); err == nil {
		t.Fatal("a not-allowed app ran")
	}
}

func waitFile(t *testing.T, p string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(p); err == nil {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
