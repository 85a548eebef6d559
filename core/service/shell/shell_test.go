package shell

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/service"
)

var (
	owner = service.Caller{UID: os.Geteuid(), PID: 100, Owner: true, Via: "unix"}
	agent = service.Caller{UID: os.Geteuid(), PID: 200, Owner: true, Via: "unix"}
)

type env struct {
	t     *testing.T
	svc   *Service
	home  string
	asked chan approval.Pending
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, home: t.TempDir(), asked: make(chan approval.Pending, 16)}
	cfg.OwnerUID = os.Geteuid()
	cfg.Shell = "/bin/sh"
	cfg.Home = e.home
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Notify = func(p approval.Pending) { e.asked <- p }
	if cfg.ApprovalTimeout == 0 {
		cfg.ApprovalTimeout = time.Hour
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

func (e *env) call(ctx context.Context, c service.Caller, method string, params any) (json.RawMessage, error) {
	b, _ := json.Marshal(params)
	res, err := e.svc.Methods()[method](ctx, &service.Call{Method: method, Params: b, Caller: c})
	if err != nil {
		return nil, err
	}
	out, merr := json.Marshal(res)
	if merr != nil {
		e.t.Fatal(merr)
	}
	return out, nil
}

type result struct {
	res json.RawMessage
	err error
}

// execute starts shell.execute in the background.
func (e *env) execute(ctx context.Context, c service.Caller, params map[string]any) chan result {
	ch := make(chan result, 1)
	go func() {
		res, err := e.call(ctx, c, "shell.execute", params)
		ch <- result{res, err}
	}()
	return ch
}

func (e *env) decide(c service.Caller, id string, allow bool, rememberMS int64) error {
	_, err := e.call(context.Background(), c, "shell.approvals.decide",
		map[string]any{"id": id, "allow": allow, "remember_ms": rememberMS})
	return err
}

func wantErr(t *testing.T, what string, err error, kind errs.Kind, reason string) {
	t.Helper()
	if errs.KindOf(err) != kind || string(errs.ReasonOf(err)) != reason {
		t.Fatalf("%s: got %v (kind %d, reason %q), want kind %d reason %q", what, err, errs.KindOf(err), errs.ReasonOf(err), kind, reason)
	}
	if errs.HintOf(err) == "" {
		t.Errorf("%s: no hint", what)
	}
}

func TestApproveRuns(t *testing.T) {
	e := newEnv(t, Config{})
	res := e.execute(context.Background(), agent, map[string]any{"command": "echo out; echo err >&2; pwd; exit 3"})
	p := <-e.asked
	if p.Command != "echo out; echo err >&2; pwd; exit 3" || p.Cwd != e.home || p.Caller.PID != agent.PID || p.Policy != "prompt" {
		t.Fatalf("pending %+v", p)
	}
	var l ListResult
	raw, err := e.call(context.Background(), owner, "shell.approvals.list", nil)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &l)
	if len(l.Pending) != 1 || l.Pending[0].ID != p.ID {
		t.Fatalf("list %s", raw)
	}
	if err := e.decide(owner, p.ID, true, 0); err != nil {
		t.Fatal(err)
	}
	r := <-res
	var out codeexec.Result
	if r.err != nil || json.Unmarshal(r.res, &out) != nil {
		t.Fatalf("execute: %v %s", r.err, r.res)
	}
	if out.Stdout != "out\n"+e.home+"\n" || out.Stderr != "err\n" || out.ExitCode != 3 {
		t.Fatalf("result %+v", out)
	}
}

func TestDenyAndTimeout(t *testing.T) {
	e := newEnv(t, Config{})
	marker := e.home + "/ran"
	res := e.execute(context.Background(), agent, map[string]any{"command": "touch " + marker})
	p := <-e.asked
	e.decide(owner, p.ID, false, 0)
	wantErr(t, "deny", (<-res).err, errs.Denied, "denied")

	e = newEnv(t, Config{ApprovalTimeout: 30 * time.Millisecond})
	res = e.execute(context.Background(), agent, map[string]any{"command": "touch " + marker})
	<-e.asked
	wantErr(t, "timeout", (<-res).err, errs.Denied, "approval_timeout")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("a refused command ran: %v", err)
	}
}

func TestCallerGivesUp(t *testing.T) {
	e := newEnv(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	res := e.execute(ctx, agent, map[string]any{"command": "true"})
	p := <-e.asked
	cancel()
	wantErr(t, "cancelled", (<-res).err, errs.Timeout, "caller_gone")
	if err := e.decide(owner, p.ID, true, 0); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("decide after the caller left: %v", err)
	}
}

// TestOnlyTheOwnerDecides: a caller that is not the owner, a remote
// entry, or a call carrying a token can neither list nor decide, and its
// attempt leaves the request waiting.
func TestOnlyTheOwnerDecides(t *testing.T) {
	e := newEnv(t, Config{})
	tok := signedToken(t, "agent-7", "https://issuer.example")
	requester := agent
	requester.Token = tok
	res := e.execute(context.Background(), requester, map[string]any{"command": "echo hi"})
	p := <-e.asked
	if p.Caller.Sub != "agent-7" || p.Caller.Iss != "https://issuer.example" {
		t.Fatalf("caller shown as %+v", p.Caller)
	}
	for _, tc := range []struct {
		name   string
		c      service.Caller
		reason string
	}{
		{"the requester with its token", requester, "token_cannot_approve"},
		{"not the owner", service.Caller{UID: 1234, Via: "unix"}, "not_owner"},
		{"owner over websocket", service.Caller{UID: os.Geteuid(), Owner: true, Via: "websocket"}, "remote_cannot_approve"},
		{"owner over relay", service.Caller{UID: os.Geteuid(), Owner: true, Via: "relay"}, "remote_cannot_approve"},
		{"no entry", service.Caller{UID: os.Geteuid(), Owner: true}, "remote_cannot_approve"},
		{"confined owner uid", service.Caller{UID: os.Geteuid(), Owner: false, Via: "unix"}, "not_owner"},
	} {
		_, err := e.call(context.Background(), tc.c, "shell.approvals.list", nil)
		wantErr(t, tc.name+" list", err, errs.Forbidden, tc.reason)
		wantErr(t, tc.name+" decide", e.decide(tc.c, p.ID, true, 0), errs.Forbidden, tc.reason)
	}
	var l ListResult
	raw, _ := e.call(context.Background(), owner, "shell.approvals.list", nil)
	json.Unmarshal(raw, &l)
	if len(l.Pending) != 1 {
		t.Fatalf("request gone after refused decisions: %s", raw)
	}
	e.decide(owner, p.ID, false, 0)
	<-res
	// The owner over xpc (macOS) may decide.
	res = e.execute(context.Background(), agent, map[string]any{"command": "true"})
	p = <-e.asked
	if err := e.decide(service.Caller{UID: os.Geteuid(), Owner: true, Via: "xpc"}, p.ID, true, 0); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.err != nil {
		t.Fatal(r.err)
	}
}

func signedToken(t *testing.T, sub, iss string) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: sub, Issuer: iss}).SignedString([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRememberSkipsAsking(t *testing.T) {
	e := newEnv(t, Config{})
	cmd := map[string]any{"command": "echo again"}
	res := e.execute(context.Background(), agent, cmd)
	p := <-e.asked
	if err := e.decide(owner, p.ID, true, time.Minute.Milliseconds()); err != nil {
		t.Fatal(err)
	}
	<-res
	r := <-e.execute(context.Background(), agent, cmd)
	if r.err != nil || !strings.Contains(string(r.res), `"stdout":"again\n"`) {
		t.Fatalf("remembered run: %v %s", r.err, r.res)
	}
	select {
	case p := <-e.asked:
		t.Fatalf("asked again for a remembered command: %+v", p)
	default:
	}
	// Another directory asks.
	sub := e.home + "/sub"
	os.Mkdir(sub, 0o755)
	res = e.execute(context.Background(), agent, map[string]any{"command": "echo again", "cwd": sub})
	p = <-e.asked
	e.decide(owner, p.ID, false, 0)
	wantErr(t, "other cwd", (<-res).err, errs.Denied, "denied")
}

// TestPolicy: forbidden is refused before anyone is asked; allow and
// prompt both ask the owner.
func TestPolicy(t *testing.T) {
	rules, err := policy.Config{Policy: []policy.RuleConfig{
		{Match: []string{"git", "status"}, Decision: "allow"},
		{Match: []string{"git", "push"}, Decision: "prompt", Reason: "pushes leave the machine"},
		{Match: []string{"curl"}, Decision: "forbidden", Reason: "no downloads"},
	}}.Rules()
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(rules, policy.DefaultFor("shell"), exec.LookPath)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Config{Policy: pol})
	for _, tc := range []struct {
		cmd    string
		policy string // "" for forbidden
	}{
		{"git status", "allow"},
		{"git push origin main", "prompt"},
		{"ls -la", "prompt"},
		{"curl https://example.com", ""},
		{"echo hi && curl -o x https://example.com", ""},
		{"sudo id", ""},
		{"env FOO=1 sudo id", ""},
		{"rm -rf ~", ""},
		{"echo ok | sh -c 'reboot'", ""},
		{"git status; git push", "prompt"},
	} {
		res := e.execute(context.Background(), agent, map[string]any{"command": tc.cmd})
		if tc.policy == "" {
			r := <-res
			wantErr(t, tc.cmd, r.err, errs.Forbidden, "denied_by_rule")
			continue
		}
		p := <-e.asked
		if p.Policy != tc.policy {
			t.Errorf("%q: policy %q, want %q (%s)", tc.cmd, p.Policy, tc.policy, p.PolicyReason)
		}
		e.decide(owner, p.ID, false, 0)
		<-res
	}
	select {
	case p := <-e.asked:
		t.Fatalf("a forbidden command was put to the owner: %+v", p)
	default:
	}
}

func TestBadParams(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		params map[string]any
		kind   errs.Kind
		reason string
	}{
		{map[string]any{}, errs.InvalidParams, "missing_command"},
		{map[string]any{"command": "a\x00b"}, errs.InvalidParams, "nul_byte"},
		{map[string]any{"command": strings.Repeat("x", MaxCommand+1)}, errs.TooLarge, "command_too_long"},
		{map[string]any{"command": "ls", "cwd": "rel"}, errs.InvalidParams, "relative_cwd"},
		{map[string]any{"command": "ls", "cwd": e.home + "/none"}, errs.NotFound, "no_cwd"},
		{map[string]any{"command": "ls", "args": []string{"x"}}, errs.InvalidParams, "bad_params"},
	} {
		_, err := e.call(context.Background(), agent, "shell.execute", tc.params)
		if errs.KindOf(err) != tc.kind || string(errs.ReasonOf(err)) != tc.reason {
			t.Errorf("%v: %v", tc.params, err)
		}
	}
	for _, p := range []map[string]any{{"id": "x"}, {"allow": true}} {
		_, err := e.call(context.Background(), owner, "shell.approvals.decide", p)
		if errs.KindOf(err) != errs.InvalidParams {
			t.Errorf("decide %v: %v", p, err)
		}
	}
}

func TestRefusesToRunAsSomeoneElse(t *testing.T) {
	_, err := New(Config{OwnerUID: os.Geteuid() + 1, Shell: "/bin/sh", Home: "/"})
	if errs.ReasonOf(err) != "not_owner_process" {
		t.Fatalf("New as another uid: %v", err)
	}
}

func TestCommandEnv(t *testing.T) {
	env := commandEnv([]string{"PATH=/p", "CARAPACE_LOG=debug", "GIMME_SOCKET=/s", "HOME=/wrong", "LANG=C", "NOTIFY_SOCKET=/n", "LISTEN_FDS=3"},
		account{Name: "o", Home: "/home/o"}, "/bin/zsh")
	got := strings.Join(env, " ")
	if got != "HOME=/home/o LANG=C LOGNAME=o PATH=/p SHELL=/bin/zsh USER=o" {
		t.Fatalf("env %s", got)
	}
}

func TestParsePasswd(t *testing.T) {
	const db = "root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nann:x:1000:1000:Ann,,,:/home/ann:/usr/bin/fish\n"
	a, err := parsePasswd(strings.NewReader(db), 1000)
	if err != nil || a != (account{Name: "ann", Home: "/home/ann", Shell: "/usr/bin/fish"}) {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := parsePasswd(strings.NewReader(db), 7); err == nil {
		t.Fatal("found a missing uid")
	}
	if a, err := lookupAccount(os.Geteuid()); err != nil || a.Home == "" {
		t.Fatalf("own account: %+v %v", a, err)
	}
}

func TestUsableShell(t *testing.T) {
	for in, want := range map[string]string{
		"/bin/sh": "/bin/sh", "/usr/sbin/nologin": "/bin/sh", "/bin/false": "/bin/sh",
		"": "/bin/sh", "bash": "/bin/sh", "/nonexistent/zsh": "/bin/sh", "/tmp": "/bin/sh",
	} {
		if got := usableShell(in); got != want {
			t.Errorf("usableShell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotifyArgs(t *testing.T) {
	args := notifyArgs(approval.Pending{ID: "ab12", Request: approval.Request{Command: "echo <b>&", Cwd: "/w"}})
	body := args[len(args)-1]
	if !strings.Contains(body, "echo &lt;b&gt;&amp;") || !strings.Contains(body, "carapace approve ab12") || args[len(args)-3] != "--" {
		t.Fatalf("args %q", args)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/bash\n")
	f.Add("a:x:1000:1000::/h:/bin/sh\nb:x:1000:1::/i:/bin/zsh")
	f.Fuzz(func(t *testing.T, db string) {
		a, err := parsePasswd(strings.NewReader(db), 1000)
		if err == nil && (strings.Contains(a.Home, ":") || strings.Contains(a.Shell, "\n")) {
			t.Fatalf("bad field %+v", a)
		}
	})
}
