package ratelimit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestKeyedBurstAndRefill(t *testing.T) {
	c := &clock{time.Unix(1e9, 0)}
	k := NewKeyed(10, 5, 100, time.Minute, c.now)
	for i := 0; i < 5; i++ {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("call %d of the burst refused", i)
		}
	}
	ok, wait := k.Allow("a")
	if ok || wait != 100*time.Millisecond {
		t.Errorf("sixth call: ok=%v retryAfter=%v, want refused, 100ms", ok, wait)
	}
	if ok, _ := k.Allow("b"); !ok {
		t.Error("another key shares a's bucket")
	}
	// A refusal takes nothing: after exactly the advertised wait, one
	// call goes through.
	c.t = c.t.Add(wait)
	if ok, _ := k.Allow("a"); !ok {
		t.Error("refused after the advertised wait")
	}
}

func TestKeyedBounded(t *testing.T) {
	c := &clock{time.Unix(1e9, 0)}
	k := NewKeyed(1, 1, 50, time.Minute, c.now)
	for i := 0; i < 1000; i++ {
		c.t = c.t.Add(time.Millisecond)
		k.Allow(fmt.Sprint("k", i))
	}
	if n := k.Len(); n > 50 {
		t.Errorf("holds %d keys, max 50", n)
	}
	// The most recent key survived eviction (and is still limited).
	if ok, _ := k.Allow("k999"); ok {
		t.Error("recent key was evicted and got a fresh bucket")
	}
	// Idle keys go first.
	c.t = c.t.Add(2 * time.Minute)
	k.Allow("new")
	if n := k.Len(); n != 1 {
		t.Errorf("after idling, %d keys, want 1", n)
	}
}

func TestLimiterErrors(t *testing.T) {
	c := &clock{time.Unix(1e9, 0)}
	l := New(Limits{PerUID: 2, PerUIDBurst: 2, PerSubject: 1, SubjectBurst: 1, ConnsPerSec: 1, ConnsBurst: 1, Now: c.now})
	if err := l.Call(1000, "agent"); err != nil {
		t.Fatal(err)
	}
	err := l.Call(1000, "agent")
	if errs.KindOf(err) != errs.RateLimited || errs.HintOf(err) == "" {
		t.Fatalf("subject over its rate: %v", err)
	}
	if ms, _ := errs.DataOf(err)["retry_after_ms"].(int64); ms != 1000 {
		t.Errorf("retry_after_ms = %v, want 1000", errs.DataOf(err)["retry_after_ms"])
	}
	if err := l.Call(1000, ""); err != nil {
		t.Errorf("uid still had a token: %v", err)
	}
	if err := l.Call(1000, ""); errs.KindOf(err) != errs.RateLimited {
		t.Errorf("uid over its rate: %v", err)
	}
	if err := l.Call(1001, ""); err != nil {
		t.Errorf("another uid limited: %v", err)
	}
	if err := l.Conn(); err != nil {
		t.Fatal(err)
	}
	if err := l.Conn(); errs.KindOf(err) != errs.RateLimited {
		t.Errorf("second connection in a second: %v", err)
	}
}

// TestDefaultsFitAnAgent: under the defaults an agent reads a 2,000-file
// project twice, one call per file, at once (no time passes) and is never
// refused; a loop that keeps calling as fast as it can is held to the
// subject's rate, and its refusal says when to retry.
func TestDefaultsFitAnAgent(t *testing.T) {
	now := time.Unix(1e9, 0)
	l := New(Limits{Now: func() time.Time { return now }})
	for i := 0; i < 2*2000; i++ {
		if err := l.Call(1000, "agent"); err != nil {
			t.Fatalf("project read: call %d refused under the defaults: %v", i, err)
		}
	}
	// The runaway: 10 s of calls every 100 µs (10,000/s).
	var ok, refused int
	var lastErr error
	for i := 0; i < 100000; i++ {
		now = now.Add(100 * time.Microsecond)
		if err := l.Call(1000, "agent"); err != nil {
			refused++
			lastErr = err
		} else {
			ok++
		}
	}
	if got := float64(ok) / 10; got > 1.1*Defaults.PerSubject {
		t.Errorf("a runaway loop got %.0f calls/s, want the subject's %.0f", got, Defaults.PerSubject)
	}
	var e *errs.Error
	if refused == 0 || !errors.As(lastErr, &e) || errs.KindOf(lastErr) != errs.RateLimited ||
		!strings.Contains(errs.HintOf(lastErr), "retry in") || e.Data["retry_after_ms"] == nil {
		t.Errorf("runaway: %d refused, last %v (data %v), want rate_limited with retry_after_ms and a hint", refused, lastErr, e)
	}
}

func TestDefaultsOff(t *testing.T) {
	off := New(Limits{PerUID: -1, PerSubject: -1, ConnsPerSec: -1})
	for i := 0; i < 100000; i++ {
		if off.Call(1, "s") != nil || off.Conn() != nil {
			t.Fatal("a disabled limit refused")
		}
	}
}

func BenchmarkCall(b *testing.B) {
	l := New(Limits{})
	b.ReportAllocs()
	for b.Loop() {
		l.Call(1000, "agent")
	}
}
