package main

// End-to-end tests of the audit log's account of each decision, through
// the real binary: every path a call can take — allowed, refused by the
// router (token, scope, rate limit), refused by the service, refused by
// the command policy, asked of the owner and approved, denied or timed
// out, approved by a remembered grant — is driven through `carapace dev`
// and read back from the log.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
)

// issueNamed mints a token for the agent name.
func issueNamed(t *testing.T, d *devStack, aud, scope, name string) string {
	t.Helper()
	tok, errOut, code := d.cli("token", "issue", "--aud", aud, "--scope", scope, "--ttl", "10m", "--name", name)
	if code != 0 {
		t.Fatalf("token issue --name %s: %s", name, errOut)
	}
	return strings.TrimSpace(tok)
}

// agentShell starts shell.execute of command with a token named agent.
func (d *devStack) agentShell(agent, command string) chan cliResult {
	p, _ := json.Marshal(map[string]string{"command": command, "cwd": d.home})
	tok := issueNamed(d.t, d, "shell", "POST:~/*", agent)
	ch := make(chan cliResult, 1)
	go func() {
		o, e, c := d.cli("call", "--token", tok, "shell.execute", string(p))
		ch <- cliResult{o, e, c}
	}()
	return ch
}

// auditRecords reads the stack's whole audit log.
func auditRecords(t *testing.T, d *devStack) []audit.Record {
	t.Helper()
	f, err := os.Open(filepath.Join(d.dir, "state", "audit", audit.ActiveName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// trail is one call's records: the router's, then those that refer to it.
type trail []audit.Record

// callTrail returns the records of agent's single call of method: the
// router's record and every record whose ref is its seq.
func callTrail(t *testing.T, recs []audit.Record, agent, method string) trail {
	t.Helper()
	var out trail
	for _, r := range recs {
		if r.Agent == agent && r.Method == method && r.Ref == 0 {
			if out != nil {
				t.Fatalf("%s made more than one %s call: %v", agent, method, out)
			}
			out = trail{r}
		}
	}
	if out == nil {
		t.Fatalf("no router record of %s by %s in\n%s", method, agent, dumpRecords(recs))
	}
	for _, r := range recs {
		if r.Ref == out[0].Seq {
			out = append(out, r)
		}
	}
	return out
}

func dumpRecords(recs []audit.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintln(&b, auditLine(r))
	}
	return b.String()
}

// want checks the trail's decisions, in order, as decision/by pairs; the
// last is the call's final outcome.
func (tr trail) want(t *testing.T, name string, steps ...string) {
	t.Helper()
	var got []string
	for _, r := range tr {
		got = append(got, r.Decision+"/"+r.By)
	}
	if strings.Join(got, " ") != strings.Join(steps, " ") {
		t.Errorf("%s: records %v, want %v:\n%s", name, got, steps, dumpRecords(tr))
	}
	for _, r := range tr[1:] {
		if r.Agent != tr[0].Agent || r.UID != tr[0].UID || r.Method != tr[0].Method || r.Resource != tr[0].Resource {
			t.Errorf("%s: a decision's record does not name the call's caller and resource: %+v", name, r)
		}
	}
}

// ownerDecision returns the owner's approvals.decide record for approval id.
func ownerDecision(t *testing.T, recs []audit.Record, id string) audit.Record {
	t.Helper()
	for _, r := range recs {
		if r.Method == "approvals.decide" && r.Approval == id {
			return r
		}
	}
	t.Fatalf("no approvals.decide record for %s in\n%s", id, dumpRecords(recs))
	return audit.Record{}
}

func TestAuditRecordsEveryDecision(t *testing.T) {
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n"+
		"  shell: {enabled: true, approval_timeout: 10s, policy: [{match: [python3], decision: allow}]}\n",
		"rate_limits: {per_uid: 100000, per_subject: 1, burst: 50}\n", nil, func(home string) {
			os.WriteFile(filepath.Join(home, "Docs", "a.txt"), []byte("hello"), 0o644)
			os.WriteFile(filepath.Join(home, "Projects", "secret.txt"), []byte("no"), 0o644)
			os.Symlink("/etc/hostname", filepath.Join(home, "Docs", "out"))
		})
	read := func(agent, tok, path string) (string, int) {
		args := []string{"call"}
		if tok != "" {
			args = append(args, "--token", tok)
		}
		p, _ := json.Marshal(map[string]string{"path": path})
		_, e, code := d.cli(append(args, "file.read", string(p))...)
		return e, code
	}

	// Allowed; refused by scope; refused by the service (a link out of
	// the folder: the router sees a path in scope, the service refuses it).
	docs := issueNamed(t, d, "file", "GET:~/Docs/*", "reader")
	if e, code := read("reader", docs, filepath.Join(d.home, "Docs", "a.txt")); code != 0 {
		t.Fatalf("allowed read: %s", e)
	}
	wide := issueNamed(t, d, "file", "GET:~/Docs/*", "scoper")
	if e, code := read("scoper", wide, filepath.Join(d.home, "Projects", "secret.txt")); code == 0 || !strings.Contains(e, "-32003") {
		t.Fatalf("read out of scope: %d %s", code, e)
	}
	linker := issueNamed(t, d, "file", "GET:~/Docs/*", "linker")
	if e, code := read("linker", linker, filepath.Join(d.home, "Docs", "out")); code == 0 || !strings.Contains(e, "-32003") {
		t.Fatalf("read through a link out: %d %s", code, e)
	}
	// No token at all (the owner's own CLI would mint one: a raw call).
	if got := raw(t, d.socket, `{"jsonrpc":"2.0","id":1,"method":"file.stat","params":{"path":"`+d.home+`/Docs/a.txt"}}`); !strings.Contains(got, "-32001") {
		t.Fatalf("no token: %s", got)
	}

	// The command policy refuses; the owner approves; the owner denies.
	if r := <-d.agentShell("sudoer", "sudo id"); r.code == 0 || !strings.Contains(r.err, "denied_by_rule") {
		t.Fatalf("sudo: %+v", r)
	}
	res := d.agentShell("approved-agent", "echo yes-run")
	yes := d.waitPending(t, "echo yes-run")
	if out, _, _ := d.cli("approvals"); !strings.Contains(out, "approved-agent") {
		t.Errorf("approvals does not name the agent:\n%s", out)
	}
	if _, e, code := d.cli("approve", yes, "--for", "10m"); code != 0 {
		t.Fatalf("approve: %s", e)
	}
	if r := <-res; r.code != 0 {
		t.Fatalf("approved run: %+v", r)
	}
	res = d.agentShell("denied-agent", "echo no-run")
	no := d.waitPending(t, "echo no-run")
	if _, e, code := d.cli("deny", no); code != 0 {
		t.Fatalf("deny: %s", e)
	}
	if r := <-res; !strings.Contains(r.err, "-32006") {
		t.Fatalf("denied run: %+v", r)
	}
	// Inline code asks as a prompt even where the owner allows the
	// interpreter: the policy cannot read the program.
	res = d.agentShell("inline-agent", "python3 -c 'print(1)'")
	inl := d.waitPending(t, "python3 -c 'print(1)'")
	var l struct {
		Pending []struct {
			ID, Policy   string
			PolicyReason string `json:"policy_reason"`
		}
	}
	out, _, _ := d.cli("approvals", "--json")
	json.Unmarshal([]byte(out), &l)
	for _, p := range l.Pending {
		if p.ID == inl && (p.Policy != "prompt" || !strings.Contains(p.PolicyReason, "cannot read")) {
			t.Errorf("python3 -c listed as %s (%s), want prompt for inline code", p.Policy, p.PolicyReason)
		}
	}
	d.cli("deny", inl)
	<-res
	// The remembered grant approves the same command again, unasked.
	if r := <-d.agentShell("remembered-agent", "echo yes-run"); r.code != 0 {
		t.Fatalf("remembered run: %+v", r)
	}
	// Nobody answers.
	res = d.agentShell("waiting-agent", "echo never-answered")
	d.waitPending(t, "echo never-answered")
	select {
	case r := <-res:
		if !strings.Contains(r.err, "approval_timeout") {
			t.Fatalf("time-out: %+v", r)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no time-out after 60s")
	}

	// A flood: refused by the rate limit, recorded at most once a second.
	flood := issueNamed(t, d, "file", "GET:~/Docs/*", "flooder")
	c := session(t, d.socket)
	if got := c.send(`{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + flood + `"}}`); !strings.Contains(got, `"result"`) {
		t.Fatalf("auth: %s", got)
	}
	limited := 0
	for i := 1; i <= 120; i++ {
		got := c.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"file.stat","params":{"path":"%s/Docs/a.txt"}}`, i, d.home))
		if strings.Contains(got, "-32005") {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("the flood was never rate-limited")
	}

	recs := auditRecords(t, d)
	if testing.Verbose() {
		t.Logf("the log:\n%s", dumpRecords(recs))
	}
	callTrail(t, recs, "reader", "file.read").want(t, "allowed", "allow/router")
	callTrail(t, recs, "scoper", "file.read").want(t, "refused by scope", "deny/router")
	callTrail(t, recs, "linker", "file.read").want(t, "refused by the service", "allow/router", "deny/service")
	callTrail(t, recs, "sudoer", "shell.execute").want(t, "refused by the policy", "allow/router", "deny/policy")
	callTrail(t, recs, "approved-agent", "shell.execute").want(t, "approved", "allow/router", "prompt/policy", "allow/owner")
	callTrail(t, recs, "denied-agent", "shell.execute").want(t, "denied", "allow/router", "prompt/policy", "deny/owner")
	callTrail(t, recs, "remembered-agent", "shell.execute").want(t, "remembered", "allow/router", "prompt/policy", "allow/remembered")
	callTrail(t, recs, "waiting-agent", "shell.execute").want(t, "timed out", "allow/router", "prompt/policy", "deny/timeout")
	if tr := callTrail(t, recs, "inline-agent", "shell.execute"); !strings.Contains(tr[1].Reason, "cannot read") {
		t.Errorf("the policy record of python3 -c: %+v", tr[1])
	}

	if tr := callTrail(t, recs, "approved-agent", "shell.execute"); tr[2].Approval != yes {
		t.Errorf("the owner's approval record names %q, want %s", tr[2].Approval, yes)
	}
	if tr := callTrail(t, recs, "remembered-agent", "shell.execute"); tr[2].Approval != yes {
		t.Errorf("the remembered grant names %q, want the approval it remembers, %s", tr[2].Approval, yes)
	}
	for id, want := range map[string]string{yes: audit.Allow, no: audit.Deny} {
		r := ownerDecision(t, recs, id)
		if r.Decision != want || r.By != audit.ByOwner || r.UID != os.Geteuid() || r.Via != "unix" || r.PID == 0 || r.Agent != "" || !strings.HasSuffix(r.Reason, " via cli") {
			t.Errorf("the owner's decision on %s: %+v", id, r)
		}
	}
	var noToken, limits int
	for _, r := range recs {
		switch {
		case r.Method == "file.stat" && r.Reason == "no_token" && r.Decision == audit.Deny && r.By == audit.ByRouter:
			noToken++
		case r.Agent == "flooder" && r.Reason == "rate_limited" && r.Decision == audit.Deny:
			limits++
		}
		if r.Sub == "owner" && r.Agent == "" && r.Method == "shell.execute" {
			t.Errorf("an agent's call recorded without its name: %+v", r)
		}
	}
	if noToken != 1 {
		t.Errorf("%d no-token records, want 1", noToken)
	}
	// The flood takes well under a second on an idle machine; on a busy
	// one it may reach a few.
	if limits < 1 || limits > 1+limited/10 {
		t.Errorf("%d rate-limit records for %d refusals", limits, limited)
	}
	if out, e, code := d.cli("audit", "verify", "--dir", filepath.Join(d.dir, "state", "audit")); code != 0 {
		t.Errorf("audit verify: %s %s", out, e)
	}
}
