package main

// End-to-end tests of capability tokens with the real binary: what an
// agent given a token can do and nothing else, the audit chain after it
// all, rate limits, whoami.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const twoRoots = "services:\n  code: {enabled: true, project_roots: [~/Projects, ~/Code]}\n  file: {enabled: true, paths: [~/Documents]}\n"

// agent runs the CLI with a token in $GIMME_TOKEN (or none).
func (d *devStack) agent(tok string, args ...string) (string, string, int) {
	d.t.Helper()
	if tok != "" {
		args = withToken(args, tok)
	}
	return d.cli(args...)
}

// withToken adds --token before any "--".
func withToken(args []string, tok string) []string {
	for i, a := range args {
		if a == "--" {
			return append(append(append([]string{}, args[:i]...), "--token", tok), args[i:]...)
		}
	}
	return append(append([]string{}, args...), "--token", tok)
}

func TestAgentToken(t *testing.T) {
	d := startDev(t, twoRoots, nil)
	proj := filepath.Join(d.home, "Projects", "demo")
	other := filepath.Join(d.home, "Code", "other")
	os.MkdirAll(other, 0o755)
	var issued struct{ Token, JTI string }
	json.Unmarshal([]byte(mustCLI(t, d, "token", "issue", "--aud", "code", "--scope", "POST:"+proj+"/*", "--ttl", "10m", "--sub", "agent:test", "--json")), &issued)
	tok := issued.Token
	if tok == "" || issued.JTI == "" {
		t.Fatal("no token issued")
	}
	// Plain output: the token alone on stdout.
	if out := mustCLI(t, d, "token", "issue", "--aud", "code", "--scope", "POST:"+proj+"/*", "--ttl", "1m"); strings.Count(strings.TrimSpace(out), ".") != 2 || strings.Contains(strings.TrimSpace(out), "\n") {
		t.Errorf("token issue printed %q", out)
	}
	if out, errOut, code := d.agent(tok, "exec", "--cwd", proj, "--", "pwd"); code != 0 || strings.TrimSpace(out) != proj {
		t.Fatalf("agent in its project: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct {
		name string
		tok  string
		args []string
		want []string
	}{
		{"another project", tok, []string{"exec", "--cwd", other, "--", "pwd"}, []string{"-32003", "(scope)", "hint: this token allows only POST:code.local.gimme.tools" + proj + "/*"}},
		{"scratch", tok, []string{"exec", "--", "pwd"}, []string{"-32003", "(scope)"}},
		{"no token", "", []string{"call", "code.execute", `{"command":"pwd","cwd":"` + proj + `"}`}, []string{"-32001", "no_token", "hint:"}},
		{"file token on code", strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Documents/*", "--ttl", "1m")),
			[]string{"exec", "--cwd", proj, "--", "pwd"}, []string{"-32001", "audience_mismatch", "hint:"}},
		{"wider than config", "", []string{"token", "issue", "--aud", "code", "--scope", "POST:" + d.home + "/*", "--ttl", "1m"}, []string{"-32003", "scope_too_wide", "services.code.project_roots"}},
		{"ttl over max", "", []string{"token", "issue", "--aud", "code", "--scope", "POST:" + proj, "--ttl", "48h"}, []string{"-32003", "bad_ttl"}},
		{"disabled service", "", []string{"token", "issue", "--aud", "shell", "--scope", "POST:/*", "--ttl", "1m"}, []string{"-32003", "not_enabled", "services.shell.enabled"}},
	} {
		_, errOut, code := d.agent(tc.tok, tc.args...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1: %s", tc.name, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: %q lacks %q", tc.name, errOut, w)
			}
		}
	}
	// One-time token: one call, then replayed.
	once := strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "code", "--scope", "POST:"+proj, "--ttl", "1m", "--once"))
	if _, errOut, code := d.agent(once, "exec", "--cwd", proj, "--", "true"); code != 0 {
		t.Fatalf("once, first use: %d %s", code, errOut)
	}
	if _, errOut, code := d.agent(once, "exec", "--cwd", proj, "--", "true"); code != 1 || !strings.Contains(errOut, "replayed") {
		t.Errorf("once, second use: %d %s", code, errOut)
	}
	// The owner's inspect asks the router, which knows it was used; a
	// local check cannot, and says so.
	if out, errOut, code := d.cli("token", "inspect", once); code != 1 || !strings.Contains(errOut, "replayed") {
		t.Errorf("inspect a used one-time token: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := d.cli("token", "inspect", "--local", once); code != 0 || !strings.Contains(out, "checked here, not by the router") {
		t.Errorf("inspect --local a used one-time token: %d %q %q", code, out, errOut)
	}
	// Inspect, revoke, inspect again.
	if out, errOut, code := d.cli("token", "inspect", tok); code != 0 || !strings.Contains(out, "agent:test") || !strings.Contains(out, "accepted: yes (checked by the router)") {
		t.Errorf("inspect: %d %q %q", code, out, errOut)
	}
	mustCLI(t, d, "token", "revoke", issued.JTI)
	if _, errOut, code := d.agent(tok, "exec", "--cwd", proj, "--", "pwd"); code != 1 || !strings.Contains(errOut, "revoked") {
		t.Errorf("revoked token: %d %s", code, errOut)
	}
	if _, errOut, code := d.cli("token", "inspect", tok); code != 1 || !strings.Contains(errOut, "revoked") {
		t.Errorf("inspect revoked: %d %s", code, errOut)
	}
	// The owner's own exec still needs no token handling.
	if out, errOut, code := d.cli("exec", "--cwd", other, "--", "pwd"); code != 0 || strings.TrimSpace(out) != other {
		t.Errorf("owner exec: %d %q %q", code, out, errOut)
	}
	// Every decision is in an intact chain; an edited line is found.
	out, errOut, code := d.cli("audit", "verify", "--json")
	var rep struct {
		OK     bool
		Report struct{ Records int }
	}
	json.Unmarshal([]byte(out), &rep)
	if code != 0 || !rep.OK || rep.Report.Records < 15 {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}
	tail := mustCLI(t, d, "audit", "tail", "-n", "100", "--json")
	for _, w := range []string{`"reason":"scope"`, `"reason":"no_token"`, `"reason":"audience_mismatch"`, `"reason":"replayed"`, `"reason":"revoked"`, `"method":"token.revoke"`, `"sub":"agent:test"`, `"resource":"` + other + `"`} {
		if !strings.Contains(tail, w) {
			t.Errorf("audit tail lacks %s", w)
		}
	}
	if strings.Contains(tail, tok) || strings.Contains(tail, "eyJ") {
		t.Error("a token is in the audit log")
	}
	log := filepath.Join(d.dir, "state", "audit", "audit.log")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"decision":"deny","by":"router","reason":"scope"`, `"decision":"allow","by":"router","reason":"scope"`, 1)
	if edited == string(b) {
		t.Fatal("no scope refusal to edit")
	}
	os.WriteFile(log, []byte(edited), 0o640)
	if _, errOut, code := d.cli("audit", "verify"); code != 1 || !strings.Contains(errOut, "audit.log line") || !strings.Contains(errOut, "chain broken") {
		t.Errorf("verify after an edit: %d %s", code, errOut)
	}
}

func TestWhoamiTokenFields(t *testing.T) {
	d := startDev(t, "", nil)
	tok := strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "code", "--scope", "POST:/.carapace/scratch", "--ttl", "1m"))
	var who struct {
		DeviceID  string `json:"device_id"`
		Owner     bool
		Audiences []string
	}
	json.Unmarshal([]byte(mustCLI(t, d, "whoami", "--json", "--token", tok)), &who)
	if !strings.HasPrefix(who.DeviceID, "device-") || !who.Owner || len(who.Audiences) != 1 || who.Audiences[0] != "code.local.gimme.tools" {
		t.Fatalf("whoami %+v", who)
	}
	if out := mustCLI(t, d, "whoami"); !strings.Contains(out, "device_id: "+who.DeviceID) {
		t.Errorf("whoami text: %q", out)
	}
}

// TestRateLimit: with a tiny per-uid limit the router refuses with -32005
// and says when to retry.
func TestRateLimit(t *testing.T) {
	d := startDevWith(t, "", "rate_limits: {per_uid: 0.01, burst: 3}\n", nil, nil)
	c := session(t, d.socket)
	var got string
	for i := 0; i < 10; i++ {
		got = c.send(`{"jsonrpc":"2.0","id":1,"method":"code.info"}`)
		if strings.Contains(got, "-32005") {
			break
		}
	}
	var resp struct {
		Error struct {
			Code int
			Data struct {
				Reason       string
				RetryAfterMS int64 `json:"retry_after_ms"`
				Hint         string
			}
		}
	}
	json.Unmarshal([]byte(got), &resp)
	if resp.Error.Code != -32005 || resp.Error.Data.Reason != "rate_limited" || resp.Error.Data.RetryAfterMS <= 0 || resp.Error.Data.Hint == "" {
		t.Fatalf("no rate-limit refusal: %s", got)
	}
	if out := c.send(`{"jsonrpc":"2.0","id":2,"method":"ping"}`); !strings.Contains(out, "pong") {
		t.Errorf("ping while limited: %s", out)
	}
}

func TestConfigCheckAndReload(t *testing.T) {
	d := startDev(t, twoRoots, nil)
	// A file named on the command line must exist; without one, the
	// defaults apply.
	if _, errOut, code := d.cli("config", "check", "--config", "/nonexistent/carapace.yaml"); code != exitUsage || !strings.Contains(errOut, "/nonexistent/carapace.yaml") {
		t.Errorf("config check of a file that is not there: %d %q", code, errOut)
	}
	out, errOut, code := d.cli("config", "check")
	if code != 0 || !strings.Contains(out, "owner_may_mint") || !strings.Contains(out, filepath.Join(d.home, "Code")+"/*") {
		t.Errorf("config check: %d %q %q", code, out, errOut)
	}
	// The system block as the stack uses it: defaults filled in.
	for _, want := range []string{"idle_timeout: 10m0s", "max_message_bytes: 1048576", "max_ttl: 24h0m0s", "fsync: batch", "state_dir: /"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check's system block lacks %q:\n%s", want, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("tokens:\n  max_tll: 1h\n"), 0o644)
	if _, errOut, code := d.cli("config", "check", "--config", bad); code != 1 || !strings.Contains(errOut, bad+":2") || !strings.Contains(errOut, "max_tll") {
		t.Errorf("config check of a bad file: %d %s", code, errOut)
	}
	if _, errOut, code := d.cli("config", "reload"); code != 0 {
		t.Errorf("config reload: %d %s", code, errOut)
	}
	// SIGHUP does the same, and the router keeps serving.
	d.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.stderrText(), "reloaded issuer keys on SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload on SIGHUP:\n%s", d.stderrText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustCLI(t, d, "ping")
}

// TestFileToken is issue 4's "done when": an agent given a token for
// GET:~/Documents/* can do exactly that and nothing else.
func TestFileToken(t *testing.T) {
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Documents, ~/Documents-old]}\n", "", nil, func(home string) {
		for _, dir := range []string{"Documents", "Documents-old"} {
			os.MkdirAll(filepath.Join(home, dir), 0o755)
			os.WriteFile(filepath.Join(home, dir, "a.txt"), []byte("hello from "+dir), 0o644)
		}
	})
	tok := strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Documents/*", "--ttl", "10m"))
	read := func(p string) string { return `{"path":"` + p + `"}` }
	if out, errOut, code := d.agent(tok, "call", "file.read", read("~/Documents/a.txt")); code != 0 || !strings.Contains(out, "hello from Documents") {
		t.Fatalf("read in scope: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := d.agent(tok, "call", "file.list", read(filepath.Join(d.home, "Documents"))); code != 0 || !strings.Contains(out, "a.txt") {
		t.Errorf("list in scope: %d %q %q", code, out, errOut)
	}
	for _, tc := range []struct{ name, method, params, want string }{
		{"look-alike sibling", "file.read", read("~/Documents-old/a.txt"), "(scope)"},
		{"climbing out", "file.read", read("~/Documents/../Documents-old/a.txt"), "(scope)"},
		{"write", "file.write", `{"path":"~/Documents/b.txt","content":"x"}`, "(scope)"},
		{"delete", "file.delete", read("~/Documents/a.txt"), "(scope)"},
		{"no token", "file.read", read("~/Documents/a.txt"), "no_token"},
	} {
		tk := tok
		if tc.name == "no token" {
			tk = ""
		}
		if _, errOut, code := d.agent(tk, "call", tc.method, tc.params); code != 1 || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "hint:") {
			t.Errorf("%s: %d %s", tc.name, code, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(d.home, "Documents", "b.txt")); err == nil {
		t.Error("a write outside the token's scope happened")
	}
}
