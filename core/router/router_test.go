package router_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
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
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/token"
)

// testService stands in for a capability service.
type testService struct{}

func (testService) Name() string { return "code" }
func (testService) Methods() map[string]service.Handler {
	return map[string]service.Handler{
		"code.params": func(_ context.Context, c *service.Call) (any, error) {
			return map[string]any{"params": c.Params, "caller": c.Caller}, nil
		},
		"code.stream": func(_ context.Context, c *service.Call) (any, error) {
			for i := 0; i < 3; i++ {
				c.Notify("code.output", map[string]any{"n": i})
			}
			return "streamed", nil
		},
		// code.audited answers whether the call's own audit record is
		// already in the log file when the service sees the call.
		"code.audited": func(_ context.Context, c *service.Call) (any, error) {
			var p struct {
				Log string `json:"log"`
				N   int    `json:"n"`
			}
			json.Unmarshal(c.Params, &p)
			b, err := os.ReadFile(p.Log)
			if err != nil {
				return nil, err
			}
			return bytes.Contains(b, []byte(`"resource":"/work/audited-`+strconv.Itoa(p.N)+`"`)), nil
		},
		// code.decides reports more decisions than the router takes, one
		// of them not a decision at all, then refuses.
		"code.decides": func(_ context.Context, c *service.Call) (any, error) {
			service.Decide(c, service.Decision{Decision: "maybe", By: "owner"})
			for i := 0; i < 10; i++ {
				service.Decide(c, service.Decision{Decision: audit.Deny, By: audit.ByOwner, Reason: "n" + strconv.Itoa(i), Approval: "a1"})
			}
			return nil, errs.E("code.decides", errs.Denied, errs.Reason("denied"), errs.Hint("no"))
		},
		// code.connects reports what the network proxy reports for a
		// command's connections: more than maxDecisions, some refused.
		"code.connects": func(_ context.Context, c *service.Call) (any, error) {
			for i := 0; i < 20; i++ {
				d := audit.Allow
				if i%2 == 1 {
					d = audit.Deny
				}
				service.Decide(c, service.Decision{Decision: d, By: audit.ByEgress, Reason: "network CONNECT h" + strconv.Itoa(i) + ":443"})
			}
			return "done", nil
		},
		"code.fail": func(context.Context, *service.Call) (any, error) {
			return nil, errs.E("code.fail", errs.Forbidden, errs.Reason("outside_project_roots"), errs.Hint("add it"))
		},
	}
}

type stack struct {
	dir, routerSock, codeSock string
	host                      *servicehost.Host
	srv                       *rpcserver.Server
	router                    *router.Router
	auth                      *router.Auth
	minter                    *token.Minter
	token                     string // a code token for POST:/*
}

// testResources scopes every method of the test service as POST on /work.
var testResources = map[string]router.ResourceFunc{
	"code": func(method string, params json.RawMessage) ([]router.Access, error) {
		if method == "code.audited" { // a resource of its own per call, to find its record
			var p struct{ N int }
			json.Unmarshal(params, &p)
			return []router.Access{{Verb: "POST", Resource: "/work/audited-" + strconv.Itoa(p.N)}}, nil
		}
		return []router.Access{{Verb: "POST", Resource: "/work"}}, nil
	},
}

func startStack(t testing.TB, withService bool) *stack {
	return startStackWith(t, withService, os.Geteuid(), ratelimit.Limits{})
}

func startStackWith(t testing.TB, withService bool, ownerUID int, lim ratelimit.Limits) *stack {
	t.Helper()
	dir := t.TempDir()
	st := &stack{dir: dir, routerSock: filepath.Join(dir, "router.sock"), codeSock: filepath.Join(dir, "code.sock")}
	if withService {
		st.startService(t)
	}
	st.auth, st.minter = newAuth(t, filepath.Join(dir, "state"), lim)
	st.router = router.New(router.Options{
		OwnerUID: ownerUID, Auth: st.auth,
		Backends: []router.Backend{{Name: "code", Enabled: true, Socket: st.codeSock}, {Name: "file", Enabled: false, Socket: filepath.Join(dir, "file.sock")}},
	})
	st.srv = &rpcserver.Server{Dispatcher: st.router}
	l, err := net.Listen("unix", st.routerSock)
	if err != nil {
		t.Fatal(err)
	}
	go st.srv.Serve(l)
	t.Cleanup(func() { st.srv.Close() })
	st.token = st.mint(t, token.AudCode, []string{"POST:/*"}, false)
	return st
}

// newAuth builds the router's authorisation in a fresh state directory:
// the owner may mint code tokens for POST anywhere.
func newAuth(t testing.TB, dir string, lim ratelimit.Limits) (*router.Auth, *token.Minter) {
	t.Helper()
	key, _, err := token.LoadOrCreate(token.FileKeyStore{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := token.OpenRevocations(filepath.Join(dir, "revoked.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(token.Config{Device: key.Public(), Home: "/home/owner", Revoked: rev})
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.Open(filepath.Join(dir, "audit"), audit.Options{Sync: audit.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alog.Close() })
	all, err := scope.ParseSet([]string{"POST:/*"}, token.AudCode, "")
	if err != nil {
		t.Fatal(err)
	}
	m := token.NewMinter(key, "/home/owner")
	return &router.Auth{
		Verifier: v, Minter: m, Revoked: rev, Audit: alog, Limiter: ratelimit.New(lim),
		Grants: map[string]scope.Set{token.AudCode: all}, Home: "/home/owner", MaxTTL: time.Hour,
		Resources: testResources,
	}, m
}

func (st *stack) mint(t testing.TB, aud string, scopes []string, once bool) string {
	t.Helper()
	raw, _, err := st.minter.Mint(aud, scopes, time.Hour, once, "test")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// authed dials the router and authenticates with tok.
func authed(t testing.TB, sock, tok string) *client.Client {
	t.Helper()
	c := dial(t, sock)
	if err := c.Call(ctx(t), "auth", map[string]string{"token": tok}, nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func (st *stack) startService(t testing.TB) {
	st.host = servicehost.New(testService{}, servicehost.Options{RouterUID: os.Geteuid(), RouterPID: os.Getpid(), Authorize: service.AllowAll})
	l, err := net.Listen("unix", st.codeSock)
	if err != nil {
		t.Fatal(err)
	}
	go st.host.Serve(l)
	t.Cleanup(func() { st.host.Close() })
}

func dial(t testing.TB, sock string) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestForwardMultiplexesManyClients(t *testing.T) {
	st := startStack(t, true)
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for c := 0; c < 64; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := client.Dial(context.Background(), st.routerSock)
			if err != nil {
				errc <- err
				return
			}
			defer cl.Close()
			if err := cl.Call(ctx(t), "auth", map[string]string{"token": st.token}, nil); err != nil {
				errc <- err
				return
			}
			for i := 0; i < 20; i++ {
				var res struct {
					Params struct{ C, I int }
				}
				if err := cl.Call(ctx(t), "code.params", map[string]int{"c": c, "i": i}, &res); err != nil {
					errc <- err
					return
				}
				if res.Params.C != c || res.Params.I != i {
					errc <- fmt.Errorf("client %d call %d got %+v", c, i, res.Params)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestCallerRecordReachesService(t *testing.T) {
	st := startStack(t, true)
	var res struct{ Caller service.Caller }
	if err := authed(t, st.routerSock, st.token).Call(ctx(t), "code.params", map[string]any{}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Caller.UID != os.Geteuid() || res.Caller.PID != os.Getpid() || !res.Caller.Owner || res.Caller.Via != "unix" || res.Caller.Token != st.token {
		t.Fatalf("caller %+v", res.Caller)
	}
}

func TestServiceErrorsPassThrough(t *testing.T) {
	st := startStack(t, true)
	err := authed(t, st.routerSock, st.token).Call(ctx(t), "code.fail", nil, nil)
	var ce *errs.Error
	if !errorsAs(err, &ce) || ce.Kind.Code() != -32003 || ce.Reason != "outside_project_roots" || ce.Hint != "add it" {
		t.Fatalf("got %v", err)
	}
}

func TestServiceDownIsUnavailable(t *testing.T) {
	st := startStack(t, false)
	err := authed(t, st.routerSock, st.token).Call(ctx(t), "code.params", nil, nil)
	var ce *errs.Error
	if !errorsAs(err, &ce) || ce.Kind.Code() != -32007 || ce.Reason != "service_down" || ce.Hint == "" {
		t.Fatalf("got %v", err)
	}
	// Once the service is up, the same router reaches it.
	st.startService(t)
	if err := authed(t, st.routerSock, st.token).Call(ctx(t), "code.params", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDisabledAndUnknown(t *testing.T) {
	st := startStack(t, true)
	c := authed(t, st.routerSock, st.token)
	for _, tc := range []struct {
		method string
		code   int
	}{{"file.read", -32007}, {"nosuch.op", -32601}, {"nodot", -32601}, {"execute", 0}} {
		err := c.Call(ctx(t), tc.method, map[string]any{}, nil)
		var ce *errs.Error
		if tc.code == 0 {
			// execute is an alias of code.execute, which the test service lacks.
			if !errorsAs(err, &ce) || ce.Kind.Code() != -32601 {
				t.Errorf("%s: got %v", tc.method, err)
			}
			continue
		}
		if !errorsAs(err, &ce) || ce.Kind.Code() != tc.code {
			t.Errorf("%s: got %v, want %d", tc.method, err, tc.code)
		}
	}
}

func TestBatchMixesRouterAndService(t *testing.T) {
	st := startStack(t, true)
	calls := []*client.BatchCall{
		{Method: "ping", Result: new(json.RawMessage)},
		{Method: "code.params", Params: map[string]int{"x": 1}, Result: new(json.RawMessage)},
		{Method: "code.params", Notify: true},
		{Method: "nope"},
	}
	if err := authed(t, st.routerSock, st.token).Batch(ctx(t), calls); err != nil {
		t.Fatal(err)
	}
	if calls[0].Err != nil || string(*calls[0].Result.(*json.RawMessage)) != `{"pong":true}` {
		t.Errorf("ping: %v", calls[0].Err)
	}
	if calls[1].Err != nil || !strings.Contains(string(*calls[1].Result.(*json.RawMessage)), `"x":1`) {
		t.Errorf("echo: %v", calls[1].Err)
	}
	if calls[3].Err == nil {
		t.Error("nope: no error")
	}
}

func TestStreamedNotificationsCarryCallerID(t *testing.T) {
	st := startStack(t, true)
	c := authed(t, st.routerSock, st.token)
	var mu sync.Mutex
	var notes []string
	c.OnNotify(func(method string, params json.RawMessage) {
		mu.Lock()
		notes = append(notes, method+" "+string(params))
		mu.Unlock()
	})
	if err := c.Call(ctx(t), "code.stream", nil, nil); err != nil { // id 2: auth was 1
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 3 || notes[0] != `code.output {"request_id":2,"n":0}` {
		t.Fatalf("notes %q", notes)
	}
}

func TestServiceRefusesOtherPeers(t *testing.T) {
	st := startStack(t, true)
	// Same uid, but not the router's pid: refused at accept.
	st.host.Close()
	st.host = servicehost.New(testService{}, servicehost.Options{RouterUID: os.Geteuid(), RouterPID: os.Getpid() + 100000, Authorize: service.AllowAll})
	os.Remove(st.codeSock)
	l, err := net.Listen("unix", st.codeSock)
	if err != nil {
		t.Fatal(err)
	}
	go st.host.Serve(l)
	err = dial(t, st.codeSock).Call(ctx(t), "code.params", nil, nil)
	var ce *errs.Error
	if !errorsAs(err, &ce) || ce.Kind.Code() != -32003 || ce.Reason != "not_router" {
		t.Fatalf("got %v", err)
	}
}

func errorsAs(err error, target **errs.Error) bool {
	for err != nil {
		if ce, ok := err.(*errs.Error); ok {
			*target = ce
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// TestPipelinedPingsAllAnswered: a client writing many pings without
// reading gets every answer, in order; the in-flight limit is for slow
// work, not for the router's own quick methods.
func TestPipelinedPingsAllAnswered(t *testing.T) {
	st := startStack(t, false)
	c, err := net.Dial("unix", st.routerSock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 2000
	go func() {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i)
		}
		c.Write([]byte(b.String()))
	}()
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < n; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if want := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"pong":true}}`+"\n", i); line != want {
			t.Fatalf("answer %d: %s", i, line)
		}
	}
}
