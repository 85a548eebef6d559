package approval

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newQueue(t *testing.T, opts Options) (*Queue, *fakeClock, chan Pending) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	notes := make(chan Pending, 16)
	opts.Now = clk.Now
	opts.Notify = func(p Pending) { notes <- p }
	opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.Timeout == 0 {
		opts.Timeout = time.Hour // decisions, not the timer, end these tests
	}
	return New(opts), clk, notes
}

type asked struct {
	out Outcome
	err error
}

func ask(q *Queue, ctx context.Context, r Request) chan asked {
	ch := make(chan asked, 1)
	go func() {
		out, err := q.Ask(ctx, r)
		ch <- asked{out, err}
	}()
	return ch
}

func req(cmd string) Request {
	return Request{Command: cmd, Cwd: "/home/o", Caller: Caller{UID: 1000, PID: 42, Via: "unix"}}
}

func TestAllowAndDeny(t *testing.T) {
	q, _, notes := newQueue(t, Options{})
	for _, allow := range []bool{true, false} {
		res := ask(q, context.Background(), req("echo hi"))
		p := <-notes
		if l := q.List(); len(l) != 1 || l[0].ID != p.ID || l[0].Command != "echo hi" || l[0].Caller.PID != 42 {
			t.Fatalf("List = %+v, notified %+v", l, p)
		}
		if _, err := q.Decide(p.ID, allow, 0); err != nil {
			t.Fatal(err)
		}
		got := <-res
		if got.err != nil || got.out.Allowed != allow || got.out.ID != p.ID || got.out.Remembered {
			t.Fatalf("allow=%v: %+v", allow, got)
		}
		if l := q.List(); len(l) != 0 {
			t.Fatalf("decided request still listed: %+v", l)
		}
		if _, err := q.Decide(p.ID, true, 0); errs.KindOf(err) != errs.NotFound || errs.ReasonOf(err) != "no_such_approval" {
			t.Fatalf("second decision: %v", err)
		}
	}
}

func TestTimeout(t *testing.T) {
	q, _, notes := newQueue(t, Options{Timeout: 20 * time.Millisecond})
	res := ask(q, context.Background(), req("sleep 1"))
	p := <-notes
	got := <-res
	if errs.KindOf(got.err) != errs.Denied || errs.ReasonOf(got.err) != "approval_timeout" || got.out.Allowed {
		t.Fatalf("timeout: %+v", got)
	}
	if _, err := q.Decide(p.ID, true, 0); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("decision after timeout: %v", err)
	}
}

func TestCallerGone(t *testing.T) {
	q, _, notes := newQueue(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	res := ask(q, ctx, req("ls"))
	<-notes
	cancel()
	got := <-res
	if errs.KindOf(got.err) != errs.Timeout || errs.ReasonOf(got.err) != "caller_gone" {
		t.Fatalf("cancelled: %+v", got)
	}
	if l := q.List(); len(l) != 0 {
		t.Fatalf("withdrawn request still listed: %+v", l)
	}
}

func TestRemember(t *testing.T) {
	q, clk, notes := newQueue(t, Options{})
	res := ask(q, context.Background(), req("make test"))
	p := <-notes
	until, err := q.Decide(p.ID, true, 10*time.Minute)
	if err != nil || !until.Equal(clk.Now().Add(10*time.Minute)) {
		t.Fatalf("Decide: %v %v", until, err)
	}
	<-res
	// The same command from the same directory: approved without asking.
	out, err := q.Ask(context.Background(), req("make test"))
	if err != nil || !out.Allowed || !out.Remembered {
		t.Fatalf("remembered: %+v %v", out, err)
	}
	// Another directory, or another command line, still asks.
	other := req("make test")
	other.Cwd = "/home/o/other"
	for _, r := range []Request{other, req("make test; rm x"), req("make  test")} {
		res := ask(q, context.Background(), r)
		p := <-notes
		q.Decide(p.ID, false, 0)
		if got := <-res; got.out.Allowed || got.out.Remembered {
			t.Fatalf("%+v was approved by a remembered decision", r)
		}
	}
	// Expired: asks again.
	clk.Add(10*time.Minute + time.Second)
	res = ask(q, context.Background(), req("make test"))
	p = <-notes
	q.Decide(p.ID, true, 0)
	if got := <-res; !got.out.Allowed || got.out.Remembered {
		t.Fatalf("after expiry: %+v", got)
	}
}

func TestDenyIsNotRemembered(t *testing.T) {
	q, _, notes := newQueue(t, Options{})
	res := ask(q, context.Background(), req("x"))
	p := <-notes
	q.Decide(p.ID, false, time.Hour)
	<-res
	res = ask(q, context.Background(), req("x"))
	p = <-notes // asked again: a no is not remembered
	q.Decide(p.ID, true, 0)
	if got := <-res; !got.out.Allowed {
		t.Fatalf("%+v", got)
	}
}

func TestBadRemember(t *testing.T) {
	q, _, notes := newQueue(t, Options{})
	res := ask(q, context.Background(), req("x"))
	p := <-notes
	for _, d := range []time.Duration{-time.Second, MaxRemember + time.Second} {
		if _, err := q.Decide(p.ID, true, d); errs.KindOf(err) != errs.InvalidParams {
			t.Errorf("remember %v: %v", d, err)
		}
	}
	if l := q.List(); len(l) != 1 {
		t.Fatalf("a refused decision removed the request: %+v", l)
	}
	q.Decide(p.ID, false, 0)
	<-res
}

func TestMaxPending(t *testing.T) {
	q, _, notes := newQueue(t, Options{MaxPending: 2})
	a := ask(q, context.Background(), req("a"))
	b := ask(q, context.Background(), req("b"))
	pa, pb := <-notes, <-notes
	if _, err := q.Ask(context.Background(), req("c")); errs.KindOf(err) != errs.RateLimited {
		t.Fatalf("third request: %v", err)
	}
	q.Decide(pa.ID, false, 0)
	q.Decide(pb.ID, false, 0)
	<-a
	<-b
}

func TestListOrderAndAge(t *testing.T) {
	q, clk, notes := newQueue(t, Options{Timeout: time.Hour})
	a := ask(q, context.Background(), req("first"))
	pa := <-notes
	clk.Add(3 * time.Second)
	b := ask(q, context.Background(), req("second"))
	pb := <-notes
	clk.Add(2 * time.Second)
	l := q.List()
	if len(l) != 2 || l[0].ID != pa.ID || l[1].ID != pb.ID {
		t.Fatalf("order: %+v", l)
	}
	if l[0].AgeMS != 5000 || l[1].AgeMS != 2000 || l[0].ExpiresInMS != (time.Hour-5*time.Second).Milliseconds() {
		t.Fatalf("ages: %+v", l)
	}
	q.Decide(pa.ID, false, 0)
	q.Decide(pb.ID, false, 0)
	<-a
	<-b
}

// TestDecideRacesTimeout: whatever wins, the asker and the decider agree.
func TestDecideRacesTimeout(t *testing.T) {
	for range 200 {
		q, _, notes := newQueue(t, Options{Timeout: time.Millisecond})
		res := ask(q, context.Background(), req("x"))
		p := <-notes
		_, derr := q.Decide(p.ID, true, 0)
		got := <-res
		if (derr == nil) != got.out.Allowed {
			t.Fatalf("decide err %v but outcome %+v", derr, got)
		}
	}
}

// TestRememberMatchWithNUL: a remembered decision on a request whose
// Match holds a NUL of its own (the code service's network questions,
// "network host:port\x00jti") covers the same request again, and only
// for the same token, and the owner can revoke it.
func TestRememberMatchWithNUL(t *testing.T) {
	q, _, notes := newQueue(t, Options{})
	net := func(jti string) Request {
		r := req("network: connect to example.com:443")
		r.Match = "network example.com:443\x00" + jti
		return r
	}
	res := ask(q, context.Background(), net("j1"))
	p := <-notes
	if _, err := q.Decide(p.ID, true, time.Hour); err != nil {
		t.Fatal(err)
	}
	<-res
	if _, ok := q.Covered(net("j1")); !ok {
		t.Fatal("the same host for the same token asks again")
	}
	res = ask(q, context.Background(), net("j2"))
	p = <-notes
	q.Decide(p.ID, false, 0)
	if got := <-res; got.out.Remembered {
		t.Fatalf("another token was covered: %+v", got)
	}
	gs := q.Grants()
	if len(gs) != 1 || gs[0].Command != "network example.com:443\x00j1" {
		t.Fatalf("grants %+v", gs)
	}
	if _, err := q.Revoke(gs[0].ID); err != nil {
		t.Fatal(err)
	}
	res = ask(q, context.Background(), net("j1"))
	p = <-notes
	q.Decide(p.ID, false, 0)
	if got := <-res; got.out.Remembered {
		t.Fatalf("a revoked grant still covered: %+v", got)
	}
}
