package router_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/ratelimit"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/token"
)

// fdService stands in for the file service: it hands out descriptors to
// anyone (the router must hold the line), and can lie or stall.
type fdService struct {
	dir     string
	stall   chan struct{} // file.stall waits for it
	stalled chan struct{} // file.stall says here that it is waiting
}

type withFile struct {
	res any
	f   *os.File
}

func (w *withFile) Result() any    { return w.res }
func (w *withFile) File() *os.File { return w.f }

func (s *fdService) Name() string { return "file" }
func (s *fdService) Methods() map[string]service.Handler {
	open := func(c *service.Call) (any, error) {
		var p struct{ Path string }
		json.Unmarshal(c.Params, &p)
		f, err := os.Open(filepath.Join(s.dir, p.Path))
		if err != nil {
			return nil, err
		}
		return &withFile{res: map[string]any{"fd": true, "path": p.Path}, f: f}, nil
	}
	return map[string]service.Handler{
		"file.open": func(_ context.Context, c *service.Call) (any, error) { return open(c) },
		"file.stall": func(_ context.Context, c *service.Call) (any, error) {
			s.stalled <- struct{}{}
			<-s.stall
			return open(c)
		},
		"file.lie": func(context.Context, *service.Call) (any, error) {
			return json.RawMessage(`{"fd":true}`), nil
		},
	}
}

type fdStack struct {
	tok               string // a file token for every path
	svc               *fdService
	r                 *router.Router
	unixSock, xpcSock string
	fileSock          string
	host              *servicehost.Host
}

// startFDStack starts a router with two entries, a Unix one and one that
// calls itself "xpc" (the owner check passes, descriptors must not), and
// the stand-in file service holding files 0..9.
func startFDStack(t *testing.T) *fdStack {
	dir := t.TempDir()
	st := &fdStack{svc: &fdService{dir: dir, stall: make(chan struct{}), stalled: make(chan struct{}, 16)},
		unixSock: filepath.Join(dir, "r.sock"), xpcSock: filepath.Join(dir, "x.sock"), fileSock: filepath.Join(dir, "file.sock")}
	for i := 0; i < 10; i++ {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), []byte("content "+strconv.Itoa(i)), 0o600)
	}
	st.startService(t)
	auth, minter := newAuth(t, filepath.Join(dir, "state"), ratelimit.Limits{})
	auth.Resources = map[string]router.ResourceFunc{
		"file": func(string, json.RawMessage) ([]router.Access, error) {
			return []router.Access{{Verb: "GET", Resource: "/any"}}, nil
		},
	}
	raw, _, err := minter.Mint(token.AudFile, []string{"GET:/*"}, time.Hour, false, "test")
	if err != nil {
		t.Fatal(err)
	}
	st.tok = raw
	st.r = router.New(router.Options{OwnerUID: os.Geteuid(), Auth: auth,
		Backends: []router.Backend{{Name: "file", Enabled: true, Socket: st.fileSock}}})
	for sock, via := range map[string]service.Via{st.unixSock: "", st.xpcSock: "xpc"} {
		srv := &rpcserver.Server{Dispatcher: st.r, Via: via}
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}
	return st
}

func (st *fdStack) startService(t *testing.T) {
	os.Remove(st.fileSock)
	st.host = servicehost.New(st.svc, servicehost.Options{RouterUID: os.Geteuid(), RouterPID: os.Getpid(), Authorize: service.AllowAll})
	l, err := net.Listen("unix", st.fileSock)
	if err != nil {
		t.Fatal(err)
	}
	go st.host.Serve(l)
	h := st.host
	t.Cleanup(func() { h.Close() })
}

// quietFDs counts open descriptors once the count has stopped moving
// (the router closes its side of a finished connection asynchronously).
func quietFDs(t *testing.T) int {
	n := openFDs(t)
	for i := 0; i < 100; i++ {
		time.Sleep(100 * time.Millisecond)
		m := openFDs(t)
		if m == n {
			return n
		}
		n = m
	}
	return n
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors:", err)
	}
	return len(ents)
}

// settles waits until the open descriptors come back to want (sockets
// closed by one side are closed by the other asynchronously).
func settles(t *testing.T, want int) {
	t.Helper()
	got := 0
	for i := 0; i < 200; i++ {
		if got = openFDs(t); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("open descriptors: %d, want %d", got, want)
}

// warm fills the router's pool to the service, so later counts compare
// like with like.
func warm(t *testing.T, sock, tok string) {
	c := authed(t, sock, tok)
	for i := 0; i < 8; i++ {
		f, err := c.CallFD(ctx(t), "file.open", map[string]string{"path": "0"}, nil)
		if err == nil {
			f.Close()
		}
	}
	c.Close()
}

func TestFDReachesUnixClient(t *testing.T) {
	st := startFDStack(t)
	warm(t, st.unixSock, st.tok)
	before := quietFDs(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := authedErr(st.unixSock, st.tok)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := 0; i < 100; i++ {
				name := strconv.Itoa((g + i) % 10)
				var res struct {
					FD   bool
					Path string
				}
				f, err := c.CallFD(ctx(t), "file.open", map[string]string{"path": name}, &res)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err != nil || string(b) != "content "+name || res.Path != name {
					t.Errorf("open %s: result %+v, descriptor holds %q (%v)", name, res, b, err)
					return
				}
				// A plain Call of the same method closes what it did not ask for.
				if err := c.Call(ctx(t), "file.open", map[string]string{"path": name}, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	settles(t, before)
}

func TestFDNeverReachesOtherSessions(t *testing.T) {
	st := startFDStack(t)
	warm(t, st.unixSock, st.tok)
	before := quietFDs(t)
	c := authed(t, st.xpcSock, st.tok)
	for i := 0; i < 50; i++ {
		_, err := c.CallFD(ctx(t), "file.open", map[string]string{"path": "1"}, nil)
		var ce *errs.Error
		if !errors.As(err, &ce) || ce.Kind.Code() != -32003 || ce.Reason != "fd_not_allowed" || ce.Hint == "" {
			t.Fatalf("file.open over a non-unix session: %v, want -32003 fd_not_allowed with a hint", err)
		}
	}
	c.Close()
	settles(t, before)
}

func TestFDMissingIsAnError(t *testing.T) {
	st := startFDStack(t)
	c := authed(t, st.unixSock, st.tok)
	_, err := c.CallFD(ctx(t), "file.lie", nil, nil)
	var ce *errs.Error
	if !errors.As(err, &ce) || ce.Reason != "fd_missing" {
		t.Fatalf("an answer announcing a descriptor it lacks: %v, want fd_missing", err)
	}
	// The connection still pairs the next descriptor correctly.
	f, err := c.CallFD(ctx(t), "file.open", map[string]string{"path": "3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "content 3" {
		t.Fatalf("got %q", b)
	}
}

// TestFDNoLeakAcrossRestart: calls pending when the service goes away fail
// cleanly; a caller that gave up before its descriptor came closes it; no
// descriptor is left open anywhere.
func TestFDNoLeakAcrossRestart(t *testing.T) {
	st := startFDStack(t)
	warm(t, st.unixSock, st.tok)
	before := quietFDs(t)
	c, err := authedErr(st.unixSock, st.tok)
	if err != nil {
		t.Fatal(err)
	}
	// A caller that gives up: its descriptor arrives later and is closed.
	short, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.CallFD(short, "file.stall", map[string]string{"path": "4"}, nil)
		done <- err
	}()
	<-st.svc.stalled // the call is in the service
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	st.svc.stall <- struct{}{}
	// Calls stalled in the service when it dies fail with service_lost.
	errc := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := c.CallFD(ctx(t), "file.stall", map[string]string{"path": "5"}, nil)
			errc <- err
		}()
	}
	for i := 0; i < 4; i++ {
		<-st.svc.stalled // every call is in the service
	}
	st.host.Close()
	st.r.ServiceRestarted("file")
	for i := 0; i < 4; i++ {
		var ce *errs.Error
		if err := <-errc; !errors.As(err, &ce) || ce.Kind.Code() != -32007 {
			t.Errorf("call during restart: %v, want -32007", err)
		}
	}
	close(st.svc.stall) // the old handlers return and open files nobody can take
	st.startService(t)
	for i := 0; i < 20; i++ {
		f, err := c.CallFD(ctx(t), "file.open", map[string]string{"path": "6"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	c.Close()
	warm(t, st.unixSock, st.tok) // the new pool's connections exist in both counts
	settles(t, before)
}

// authedErr dials sock and authenticates with tok, for use off the test
// goroutine.
func authedErr(sock, tok string) (*client.Client, error) {
	c, err := client.Dial(context.Background(), sock)
	if err != nil {
		return nil, err
	}
	if err := c.Call(context.Background(), "auth", map[string]string{"token": tok}, nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
