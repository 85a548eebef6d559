package router_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/ratelimit"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// serveVia serves the same router on a second socket whose connections
// have the given Via, as the WebSocket and relay entries do.
func serveVia(t *testing.T, st *stack, via string) string {
	sock := filepath.Join(st.dir, via+".sock")
	srv := &rpcserver.Server{Dispatcher: st.router, Via: service.Via(via)}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func callErr(t *testing.T, c *client.Client, method string, params any) *errs.Error {
	t.Helper()
	err := c.Call(ctx(t), method, params, nil)
	var ce *errs.Error
	if !errorsAs(err, &ce) {
		t.Fatalf("%s: got %v, want an error response", method, err)
	}
	return ce
}

// TestOwnerOnlyRefusedByVia: even the owner's uid cannot mint, revoke or
// reload over the WebSocket or the relay (-32003, remote_entry); approvals
// are refused the same way before any lookup.
func TestOwnerOnlyRefusedByVia(t *testing.T) {
	st := startStack(t, true)
	issue := map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60}
	for _, via := range []string{"websocket", "relay"} {
		c := dial(t, serveVia(t, st, via))
		for _, m := range []string{"token.issue", "token.revoke", "config.reload", "approvals.approve", "config.anything", "secrets.set"} {
			ce := callErr(t, c, m, issue)
			if ce.Kind.Code() != -32003 || ce.Reason != "remote_entry" || ce.Hint == "" {
				t.Errorf("%s over %s: %+v", m, via, ce)
			}
		}
		// Without a token only ping, echo and auth answer remotely.
		for _, m := range []string{"whoami", "services", "rpc.methods"} {
			if ce := callErr(t, c, m, nil); ce.Kind.Code() != -32001 || ce.Reason != "token_required" || ce.Hint == "" {
				t.Errorf("%s over %s without a token: %+v", m, via, ce)
			}
		}
		if err := c.Call(ctx(t), "ping", nil, nil); err != nil {
			t.Errorf("ping over %s: %v", via, err)
		}
	}
	// Over the Unix socket the owner may.
	var res router.IssueResult
	if err := dial(t, st.routerSock).Call(ctx(t), "token.issue", issue, &res); err != nil || res.Token == "" || res.JTI == "" {
		t.Fatalf("issue over unix: %v %+v", err, res)
	}
}

// TestTokenDecisions walks the refusals of a service call and checks each
// decision is in an intact audit chain.
func TestTokenDecisions(t *testing.T) {
	st := startStack(t, true)
	for _, tc := range []struct {
		name   string
		tok    string
		code   int
		reason string
	}{
		{"no token", "", -32001, "no_token"},
		{"file token on code", st.mint(t, token.AudFile, []string{"GET:/*"}, false), -32001, "audience_mismatch"},
		{"scope elsewhere", st.mint(t, token.AudCode, []string{"POST:/elsewhere/*"}, false), -32003, "scope"},
		{"look-alike sibling", st.mint(t, token.AudCode, []string{"POST:/wor/*"}, false), -32003, "scope"},
	} {
		c := dial(t, st.routerSock)
		if tc.tok != "" {
			if err := c.Call(ctx(t), "auth", map[string]string{"token": tc.tok}, nil); err != nil {
				t.Fatalf("%s: auth: %v", tc.name, err)
			}
		}
		ce := callErr(t, c, "code.params", map[string]any{})
		if ce.Kind.Code() != tc.code || string(ce.Reason) != tc.reason || ce.Hint == "" {
			t.Errorf("%s: got %+v, want %d %s", tc.name, ce, tc.code, tc.reason)
		}
	}
	// A one-time token: one call, then replayed.
	c := authed(t, st.routerSock, st.mint(t, token.AudCode, []string{"POST:/work/*"}, true))
	if err := c.Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ce := callErr(t, c, "code.params", nil); ce.Kind.Code() != -32001 || ce.Reason != "replayed" {
		t.Errorf("second use of a one-time token: %+v", ce)
	}
	// Revoked while held: the next call is refused.
	tok, claims, _ := st.minter.Mint(token.AudCode, []string{"POST:/*"}, 3600e9, false, "agent")
	c = authed(t, st.routerSock, tok)
	if err := c.Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := dial(t, st.routerSock).Call(ctx(t), "token.revoke", map[string]any{"jti": claims.ID}, nil); err != nil {
		t.Fatal(err)
	}
	if ce := callErr(t, c, "code.params", nil); ce.Kind.Code() != -32001 || ce.Reason != "revoked" {
		t.Errorf("revoked: %+v", ce)
	}
	rep, err := audit.Verify(filepath.Join(st.dir, "state", "audit"))
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	// 4 refusals, 3 auth, 2 allowed calls, 1 replayed, 1 revoke, 1 revoked (+ the stack's own mint is not audited: it used the Minter directly).
	var denies, allows int
	audit.Tail(ctx(t), filepath.Join(st.dir, "state", "audit"), 100, false, func(r audit.Record, _ []byte) error {
		if r.Decision == audit.Deny {
			denies++
		} else {
			allows++
		}
		if r.Method == "" || r.UID != os.Geteuid() || r.Via != "unix" {
			t.Errorf("record %+v", r)
		}
		return nil
	})
	if denies != 6 || rep.Records != denies+allows {
		t.Errorf("audit: %d records, %d deny, %d allow", rep.Records, denies, allows)
	}
}

// TestIssueWithinConfig: the owner mints only within the configuration; a
// non-owner never mints, but a token still works for it: peer identity
// decides who may mint, never what a call may touch.
func TestIssueWithinConfig(t *testing.T) {
	st := startStack(t, true)
	st.auth.Grants[token.AudCode], _ = scope.ParseSet([]string{"POST:/work/*"}, token.AudCode, "")
	c := dial(t, st.routerSock)
	for _, tc := range []struct {
		params map[string]any
		code   int
		reason string
	}{
		{map[string]any{"aud": "code", "scope": []string{"POST:/*"}, "ttl_seconds": 60}, -32003, "scope_too_wide"},
		{map[string]any{"aud": "code", "scope": []string{"POST:/work-old/*"}, "ttl_seconds": 60}, -32003, "scope_too_wide"},
		{map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 7200}, -32003, "bad_ttl"},
		{map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 0}, -32003, "bad_ttl"},
		{map[string]any{"aud": "file", "scope": []string{"GET:/work/*"}, "ttl_seconds": 60}, -32003, "not_enabled"},
		{map[string]any{"aud": "local.gimme.tools", "ttl_seconds": 60}, -32602, "audience_mismatch"},
		{map[string]any{"aud": "code", "scope": []string{"FETCH:/work"}, "ttl_seconds": 60}, -32602, "bad_scope"},
		{map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60, "extra": 1}, -32602, ""},
		{map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60, "network": []string{"a..b"}}, -32602, "bad_network"},
	} {
		ce := callErr(t, c, "token.issue", tc.params)
		if ce.Kind.Code() != tc.code || (tc.reason != "" && string(ce.Reason) != tc.reason) {
			t.Errorf("%v: got %+v, want %d %s", tc.params, ce, tc.code, tc.reason)
		}
	}
	var res router.IssueResult
	if err := c.Call(ctx(t), "token.issue", map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60, "sub": "agent:x"}, &res); err != nil {
		t.Fatal(err)
	}
	// A network claim narrows (core/service/code applies it).
	if err := c.Call(ctx(t), "token.issue", map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60, "network": []string{"pypi.org"}}, &res); err != nil {
		t.Fatal(err)
	}
	if n, err := token.NetworkClaim(res.Token); err != nil || n == nil || len(*n) != 1 || (*n)[0] != "pypi.org" {
		t.Errorf("network claim %v, %v", n, err)
	}
	// A router whose owner is someone else: we may not mint, but our token works.
	other := startStackWith(t, true, os.Geteuid()+1, ratelimit.Limits{})
	oc := dial(t, other.routerSock)
	if ce := callErr(t, oc, "token.issue", map[string]any{"aud": "code", "scope": []string{"POST:/work/*"}, "ttl_seconds": 60}); ce.Kind.Code() != -32003 || ce.Reason != "not_owner" {
		t.Errorf("non-owner mint: %+v", ce)
	}
	if ce := callErr(t, oc, "secrets.set", map[string]any{"name": "github", "value": "x"}); ce.Kind.Code() != -32003 || ce.Reason != "not_owner" {
		t.Errorf("non-owner secrets.set: %+v", ce)
	}
	if ce := callErr(t, oc, "code.params", nil); ce.Kind.Code() != -32001 {
		t.Errorf("non-owner without token: %+v", ce)
	}
	if err := authed(t, other.routerSock, other.token).Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Errorf("non-owner with a token: %v", err)
	}
}

func TestAuditFailureFailsClosed(t *testing.T) {
	st := startStack(t, true)
	c := authed(t, st.routerSock, st.token)
	st.auth.Audit.Close()
	if ce := callErr(t, c, "code.params", nil); ce.Kind.Code() != -32007 || ce.Reason != "audit_unavailable" {
		t.Fatalf("got %+v", ce)
	}
}

// TestAuditedBeforeForwarded: an allowed call's record is queued, not
// waited for, but it is in the file before the call reaches the service,
// for every one of many concurrent calls.
func TestAuditedBeforeForwarded(t *testing.T) {
	st := startStack(t, true)
	logPath := filepath.Join(st.dir, "state", "audit", audit.ActiveName)
	var wg sync.WaitGroup
	errc := make(chan error, 200)
	for conn := 0; conn < 8; conn++ {
		c := authed(t, st.routerSock, st.token)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var inner sync.WaitGroup
			for i := 0; i < 25; i++ {
				n := conn*100 + i
				inner.Add(1)
				go func() {
					defer inner.Done()
					var seen bool
					if err := c.Call(ctx(t), "code.audited", map[string]any{"log": logPath, "n": n}, &seen); err != nil {
						errc <- err
					} else if !seen {
						errc <- fmt.Errorf("call %d reached the service before its audit record was written", n)
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if _, err := audit.Verify(filepath.Join(st.dir, "state", "audit")); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}

func TestRateLimited(t *testing.T) {
	st := startStackWith(t, true, os.Geteuid(), ratelimit.Limits{PerUID: 0.001, PerUIDBurst: 2})
	c := dial(t, st.routerSock)
	if err := c.Call(ctx(t), "auth", map[string]string{"token": st.token}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
	ce := callErr(t, c, "code.params", nil)
	retry, _ := ce.Data["retry_after_ms"].(float64)
	if ce.Kind.Code() != -32005 || ce.Reason != "rate_limited" || retry <= 0 {
		t.Fatalf("got %+v", ce)
	}
	// ping is not rate limited
	if err := c.Call(ctx(t), "ping", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestWhoamiAudiences(t *testing.T) {
	st := startStack(t, true)
	c := authed(t, st.routerSock, st.token)
	if err := c.Call(ctx(t), "auth", map[string]string{"token": st.mint(t, token.AudFile, []string{"GET:/*"}, false)}, nil); err != nil {
		t.Fatal(err)
	}
	var who struct {
		DeviceID  string `json:"device_id"`
		Owner     bool
		Audiences []string
	}
	if err := c.Call(ctx(t), "whoami", nil, &who); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(who.DeviceID, "device-") || !who.Owner || strings.Join(who.Audiences, ",") != token.AudCode+","+token.AudFile {
		t.Fatalf("whoami %+v", who)
	}
}

// TestPipelinedAuth: a call sent right after auth, without waiting for its
// answer, is decided with the new token.
func TestPipelinedAuth(t *testing.T) {
	st := startStack(t, true)
	c, err := net.Dial("unix", st.routerSock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, `{"jsonrpc":"2.0","id":1,"method":"auth","params":{"token":"`+st.token+`"}}`+"\n"+
		`{"jsonrpc":"2.0","id":2,"method":"code.params","params":{}}`+"\n")
	r := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		line, err := r.ReadString('\n')
		if err != nil || strings.Contains(line, `"error"`) {
			t.Fatalf("%q %v", line, err)
		}
	}
}

// TestAuditFullDiskFailsClosed: when the disk fills, the write that would
// carry a call's audit record fails on the service connection, and the
// call is refused with audit_unavailable instead of going ahead.
func TestAuditFullDiskFailsClosed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for a full disk")
	}
	st := startStack(t, true)
	fs := filepath.Join(t.TempDir(), "small")
	os.MkdirAll(fs, 0o700)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", fs).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", fs).Run() })
	alog, err := audit.Open(filepath.Join(fs, "audit"), audit.Options{Sync: audit.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer alog.Close()
	st.auth.Audit = alog
	c := authed(t, st.routerSock, st.token)
	if err := c.Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatalf("before the disk fills: %v", err)
	}
	filler, _ := os.Create(filepath.Join(fs, "filler"))
	chunk := make([]byte, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	for i := 0; i < 100; i++ { // the log's last page may still take a few records
		err := c.Call(ctx(t), "code.params", nil, nil)
		if err == nil {
			continue
		}
		var ce *errs.Error
		if !errorsAs(err, &ce) {
			t.Fatalf("call on a full disk: %v, want an error response", err)
		}
		if ce.Kind.Code() != -32007 || ce.Reason != "audit_unavailable" || ce.Hint == "" {
			t.Fatalf("call on a full disk: %+v", ce)
		}
		return
	}
	t.Fatal("100 calls went ahead on a full disk")
}

// TestServiceDecisionsRecorded: a service's decisions reach the log under
// the call's router record, with who called and on what taken from the
// router, at most maxDecisions of them; a refusal in the answer with no
// decision reported is recorded as the service's; the notifications never
// reach the caller; rate-limit refusals are recorded at most once a second
// per caller.
func TestServiceDecisionsRecorded(t *testing.T) {
	st := startStackWith(t, true, os.Geteuid(), ratelimit.Limits{PerSubject: 0.001, SubjectBurst: 5})
	tok, _, err := st.minter.MintNamed(token.AudCode, []string{"POST:/*"}, time.Hour, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	c := session(t, st.routerSock)
	c.send(`{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + tok + `"}}`)
	// The same sent as a notification: no answer, but its decisions too
	// are recorded.
	if _, err := c.c.Write([]byte(`{"jsonrpc":"2.0","method":"code.decides"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if got := c.send(`{"jsonrpc":"2.0","id":1,"method":"code.decides"}`); !strings.Contains(got, `"id":1`) || !strings.Contains(got, "-32006") {
		t.Fatalf("code.decides answered %s (a decision notification reached the caller?)", got)
	}
	if got := c.send(`{"jsonrpc":"2.0","id":2,"method":"code.fail"}`); !strings.Contains(got, "-32003") {
		t.Fatalf("code.fail: %s", got)
	}
	for i := 3; i < 40; i++ {
		c.send(`{"jsonrpc":"2.0","id":` + strconv.Itoa(i) + `,"method":"code.params"}`)
	}
	// The notification's records come when the service answers it: wait
	// for them (a budget of many seconds, ended by the records).
	var recs []audit.Record
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		recs = recs[:0]
		audit.Tail(ctx(t), filepath.Join(st.dir, "state", "audit"), 1000, false, func(r audit.Record, _ []byte) error {
			recs = append(recs, r)
			return nil
		})
		n := 0
		for _, r := range recs {
			if r.Method == "code.decides" && r.Ref != 0 {
				n++
			}
		}
		if n >= 8 || time.Now().After(deadline) {
			break
		}
	}
	refOf := map[string][]uint64{}
	var notes, fails, limits int
	for _, r := range recs {
		if r.Agent != "claude" || r.UID != os.Geteuid() || r.Sub != "owner" {
			t.Errorf("a record without the caller: %+v", r)
		}
		switch {
		case r.Ref == 0 && r.By == audit.ByRouter && r.Decision == audit.Allow:
			refOf[r.Method] = append(refOf[r.Method], r.Seq)
		case r.Method == "code.decides" && r.Ref != 0:
			notes++
			if !slices.Contains(refOf["code.decides"], r.Ref) || r.By != audit.ByOwner || r.Decision != audit.Deny || r.Approval != "a1" || r.Resource != "/work" {
				t.Errorf("decision record %+v", r)
			}
		case r.Method == "code.fail" && r.Ref != 0:
			fails++
			if !slices.Contains(refOf["code.fail"], r.Ref) || r.By != audit.ByService || r.Decision != audit.Deny || r.Reason != "outside_project_roots" {
				t.Errorf("refusal record %+v", r)
			}
		case r.Reason == "rate_limited":
			limits++
		}
	}
	if notes != 8 || fails != 1 || len(refOf["code.decides"]) != 2 {
		t.Errorf("%d decision records (want 4 for each of 2 calls), %d refusal records (want 1)", notes, fails)
	}
	if limits < 1 || limits > 3 {
		t.Errorf("%d rate-limit records for 37 refused calls", limits)
	}
}

// rawConn is one raw connection to the router: send writes a line and
// returns the next line read, so a notification sent to the caller before
// its answer would be seen.
type rawConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func session(t *testing.T, sock string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(line string) string {
	c.t.Helper()
	c.c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
	got, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("%s: %v", line, err)
	}
	return got
}

// TestFrontDoorInAudit: a local front door (carapace mcp) declares itself
// at auth, and every decision on that connection is audited with its via;
// an unknown door, or a declaration over a remote entry, is refused.
func TestFrontDoorInAudit(t *testing.T) {
	st := startStack(t, true)
	mint := func(scope string) (string, string) {
		tok, claims, err := st.minter.Mint(token.AudCode, []string{scope}, 3600e9, false, "agent:mcp")
		if err != nil {
			t.Fatal(err)
		}
		return tok, claims.ID
	}
	viaMCP := func(tok string) *client.Client {
		c := dial(t, st.routerSock)
		if err := c.Call(ctx(t), "auth", map[string]string{"token": tok, "via": "mcp"}, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	work, workJTI := mint("POST:/work/*")
	other, otherJTI := mint("POST:/elsewhere/*")
	plainTok, plainJTI := mint("POST:/work/*")
	if err := viaMCP(work).Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ce := callErr(t, viaMCP(other), "code.params", nil); ce.Reason != "scope" {
		t.Fatalf("out of scope: %+v", ce)
	}
	// The owner's uid, but an agent's front door: never the owner.
	for _, m := range []string{"token.issue", "approvals.list", "config.reload", "secrets.set"} {
		if ce := callErr(t, viaMCP(work), m, map[string]any{}); ce.Reason != "not_owner" {
			t.Errorf("%s through a connection declared mcp: %+v", m, ce)
		}
	}
	if err := authed(t, st.routerSock, plainTok).Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
	if ce := callErr(t, dial(t, st.routerSock), "auth", map[string]string{"token": work, "via": "owner"}); ce.Kind.Code() != -32602 || ce.Reason != "bad_via" || ce.Hint == "" {
		t.Errorf("unknown via: %+v", ce)
	}
	if ce := callErr(t, dial(t, serveVia(t, st, "websocket")), "auth", map[string]string{"token": work, "via": "mcp"}); ce.Kind.Code() != -32003 || ce.Reason != "bad_via" {
		t.Errorf("via over the WebSocket: %+v", ce)
	}
	got := map[string]string{}
	audit.Tail(ctx(t), filepath.Join(st.dir, "state", "audit"), 100, false, func(r audit.Record, _ []byte) error {
		got[r.Method+" "+r.Decision+" "+r.JTI] = r.Via
		return nil
	})
	for k, want := range map[string]string{
		"auth allow " + workJTI:         "mcp",
		"code.params allow " + workJTI:  "mcp",
		"code.params deny " + otherJTI:  "mcp",
		"code.params allow " + plainJTI: "unix",
	} {
		if got[k] != want {
			t.Errorf("%s: via %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
}

// TestEgressDecisionsRecorded: every connection the code service's proxy
// reports for a command is recorded under the call (more than the four
// other decisions a call may carry), and refused connections leave the
// call's answer alone.
func TestEgressDecisionsRecorded(t *testing.T) {
	st := startStackWith(t, true, os.Geteuid(), ratelimit.Limits{})
	tok, _, err := st.minter.MintNamed(token.AudCode, []string{"POST:/*"}, time.Hour, false, "owner", "claude")
	if err != nil {
		t.Fatal(err)
	}
	c := session(t, st.routerSock)
	c.send(`{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + tok + `"}}`)
	if got := c.send(`{"jsonrpc":"2.0","id":1,"method":"code.connects"}`); !strings.Contains(got, `"result":"done"`) {
		t.Fatalf("code.connects answered %s", got)
	}
	var allow, deny int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		allow, deny = 0, 0
		audit.Tail(ctx(t), filepath.Join(st.dir, "state", "audit"), 1000, false, func(r audit.Record, _ []byte) error {
			if r.Method == "code.connects" && r.By == audit.ByEgress && r.Ref != 0 && r.Agent == "claude" && strings.HasPrefix(r.Reason, "network CONNECT") {
				if r.Decision == audit.Allow {
					allow++
				} else {
					deny++
				}
			}
			return nil
		})
		if allow+deny >= 20 || time.Now().After(deadline) {
			break
		}
	}
	if allow != 10 || deny != 10 {
		t.Errorf("%d allowed and %d refused connections recorded, want 10 and 10", allow, deny)
	}
}
