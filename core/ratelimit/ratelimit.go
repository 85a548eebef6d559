// Package ratelimit keeps any one caller from drowning the rest: token
// buckets (golang.org/x/time/rate) per peer uid, per token subject, and
// for new connections, with bounded memory.
package ratelimit

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"golang.org/x/time/rate"
)

// Limits configures a Limiter. A zero field takes its default; a negative
// rate turns that limit off.
type Limits struct {
	PerUID       float64          // calls per second per peer uid (default 1000)
	PerUIDBurst  int              // (default 10000 with the default rate, else 2×PerUID)
	PerSubject   float64          // calls per second per token subject (default 200)
	SubjectBurst int              // (default 4000 with the default rate, else 2×PerSubject)
	ConnsPerSec  float64          // new connections per second, all peers (default 500)
	ConnsBurst   int              // (default 2×ConnsPerSec)
	MaxKeys      int              // uids or subjects remembered per table (default 10000)
	IdleAfter    time.Duration    // a key idle this long may be forgotten (10m)
	Now          func() time.Time // for tests
}

// Defaults, from measurement (docs/benchmarks.md, `bench -only l`): an
// agent reading a whole 2,000-file project with one call per file, as
// fast as the router answers (2,500–4,700 calls/s here), stays inside a
// token subject's burst of 4,000, twice over; a loop calling as fast as
// it can (4,000–9,000 calls/s) empties it within about a second and then
// gets 200 calls/s. A peer uid, every agent of one user together, gets
// five times that. A benchmark turns them off (rate_limits: -1).
var Defaults = Limits{
	PerUID: 1000, PerUIDBurst: 10000, PerSubject: 200, SubjectBurst: 4000, ConnsPerSec: 500,
	MaxKeys: 10000, IdleAfter: 10 * time.Minute,
}

func (l Limits) withDefaults() Limits {
	d := Defaults
	if l.PerUID == 0 {
		l.PerUID = d.PerUID
		if l.PerUIDBurst == 0 {
			l.PerUIDBurst = d.PerUIDBurst
		}
	}
	if l.PerSubject == 0 {
		l.PerSubject = d.PerSubject
		if l.SubjectBurst == 0 {
			l.SubjectBurst = d.SubjectBurst
		}
	}
	if l.ConnsPerSec == 0 {
		l.ConnsPerSec = d.ConnsPerSec
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = d.MaxKeys
	}
	if l.IdleAfter <= 0 {
		l.IdleAfter = d.IdleAfter
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	l.PerUIDBurst = burst(l.PerUIDBurst, l.PerUID)
	l.SubjectBurst = burst(l.SubjectBurst, l.PerSubject)
	l.ConnsBurst = burst(l.ConnsBurst, l.ConnsPerSec)
	return l
}

func burst(b int, r float64) int {
	if b > 0 {
		return b
	}
	return max(int(2*r), 1)
}

// Limiter applies Limits. It is safe for concurrent use.
type Limiter struct {
	uid   *Keyed
	sub   *Keyed
	conns *Keyed
}

// New returns a Limiter for l.
func New(l Limits) *Limiter {
	l = l.withDefaults()
	return &Limiter{
		uid:   NewKeyed(l.PerUID, l.PerUIDBurst, l.MaxKeys, l.IdleAfter, l.Now),
		sub:   NewKeyed(l.PerSubject, l.SubjectBurst, l.MaxKeys, l.IdleAfter, l.Now),
		conns: NewKeyed(l.ConnsPerSec, l.ConnsBurst, 1, l.IdleAfter, l.Now),
	}
}

// Call admits one call from peer uid with a token for subject ("" when
// the call carries none). It returns a RateLimited error with
// data.retry_after_ms when either bucket is empty.
//
// A refused call takes no token from either bucket.
func (l *Limiter) Call(uid int, subject string) error {
	byUID, wait := l.uid.reserve(strconv.Itoa(uid))
	if wait > 0 {
		return limited("rate.call", fmt.Sprintf("peer uid %d", uid), wait)
	}
	if subject == "" {
		return nil
	}
	if _, wait := l.sub.reserve(subject); wait > 0 {
		if byUID != nil {
			byUID.CancelAt(l.uid.now())
		}
		return limited("rate.call", fmt.Sprintf("token subject %q", subject), wait)
	}
	return nil
}

// Conn admits one new connection.
func (l *Limiter) Conn() error {
	if ok, wait := l.conns.Allow(""); !ok {
		return limited("rate.conn", "new connections", wait)
	}
	return nil
}

func limited(op, who string, wait time.Duration) error {
	ms := max(wait.Milliseconds(), 1)
	return errs.E(op, errs.RateLimited, errs.ReasonRateLimited,
		errs.Hint(fmt.Sprintf("too many requests; retry in %d ms (the owner sets the limits under rate_limits: in /etc/gimme/carapace.yaml)", ms)),
		map[string]any{"retry_after_ms": ms},
		fmt.Errorf("%s over its rate", who))
}

// Keyed is a set of token buckets, one per key, created on first use and
// forgotten after being idle; it never holds more than max keys.
type Keyed struct {
	r     rate.Limit
	burst int
	max   int
	idle  time.Duration
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]*bucket
	off   bool
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// NewKeyed returns buckets of perSec tokens a second holding up to burst.
// A negative perSec allows everything.
func NewKeyed(perSec float64, burst, max int, idle time.Duration, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{r: rate.Limit(perSec), burst: burst, max: max, idle: idle, now: now,
		m: map[string]*bucket{}, off: perSec < 0}
}

// Allow takes a token from key's bucket. When none is left it reports
// false and how long until one will be.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	_, wait := k.reserve(key)
	return wait == 0, wait
}

// reserve takes a token from key's bucket and returns the reservation (nil
// when the limit is off), or, when the bucket is empty, takes nothing and
// returns how long until a token will be there.
func (k *Keyed) reserve(key string) (*rate.Reservation, time.Duration) {
	if k.off {
		return nil, 0
	}
	now := k.now()
	k.mu.Lock()
	b := k.m[key]
	if b == nil {
		k.makeRoom(now)
		b = &bucket{lim: rate.NewLimiter(k.r, k.burst)}
		k.m[key] = b
	}
	b.last = now
	k.mu.Unlock()
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return nil, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, d
	}
	return res, 0
}

// makeRoom drops idle keys when the table is full, and if that is not
// enough, the least recently used one. A dropped key starts again with a
// full bucket, so eviction can only be generous, never wrongly strict.
func (k *Keyed) makeRoom(now time.Time) {
	if len(k.m) < k.max {
		return
	}
	var oldest string
	var oldestT time.Time
	found := false
	for key, b := range k.m {
		if now.Sub(b.last) > k.idle {
			delete(k.m, key)
		} else if !found || b.last.Before(oldestT) {
			oldest, oldestT, found = key, b.last, true
		}
	}
	if len(k.m) >= k.max {
		delete(k.m, oldest)
	}
}

// Len returns the number of keys held.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
