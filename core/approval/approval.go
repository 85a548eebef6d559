// Package approval is the queue of requests waiting for the owner's yes or
// no: the shell service puts each command in it and waits; the owner lists
// the queue and decides, through a channel only the owner can reach (the
// shell service checks that, not this package).
//
// A decision may be remembered as a Grant: for the caller's token, for a
// while, or until revoked, bound to the command's leading words, the
// directory subtree, the agent name and the audience (grant.go). Grants
// persist in a 0600 file when Options.GrantsFile is set, and the owner
// lists and revokes them (Grants, Revoke).
package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// Defaults and caps.
const (
	DefaultTimeout = 2 * time.Minute
	// MaxRemember caps how long a decision may be remembered.
	MaxRemember = 24 * time.Hour
	// DefaultMaxPending caps the requests waiting at once, so an agent
	// cannot bury the owner in prompts.
	DefaultMaxPending = 16
)

// Caller is who asked, as shown to the owner.
type Caller struct {
	UID int    `json:"uid"`
	PID int    `json:"pid"`
	Via string `json:"via,omitempty"`
	// Sub, Agent and Iss come from the capability token the call carried,
	// if any: whom the holder acts for, the holder's name, the issuer.
	Sub   string `json:"sub,omitempty"`
	Agent string `json:"agent,omitempty"`
	Iss   string `json:"iss,omitempty"`
	// Aud, JTI and Exp are the token's audience, id and expiry: what a
	// grant for this token is bound to.
	Aud string    `json:"aud,omitempty"`
	JTI string    `json:"jti,omitempty"`
	Exp time.Time `json:"exp,omitzero"`
}

// Request is what the owner is asked to approve.
type Request struct {
	// Command is the command line as the owner is shown it (secrets
	// replaced, core/redact); Match, when set, is the line itself, which
	// a remembered decision must equal.
	Command string `json:"command"`
	Match   string `json:"-"`
	Cwd     string `json:"cwd"`
	Caller  Caller `json:"caller"`
	// Policy and PolicyReason say what the command policy thought of it.
	Policy       string `json:"policy,omitempty"`
	PolicyReason string `json:"policy_reason,omitempty"`
	// Argv are the simple commands of the line when it is plain enough
	// for a grant to cover (core/policy.Plain); nil otherwise, and
	// NotPlain says why.
	Argv     [][]string `json:"argv,omitempty"`
	NotPlain string     `json:"not_plain,omitempty"`
	// NoRemember, when set, says why no grant may cover this request: it
	// is asked about every time (core/policy.NeverRemember, or an owner's
	// prompt rule).
	NoRemember string `json:"no_remember,omitempty"`
	// Covers is what an approval with the default scope would remember
	// (Grant.Describe), shown to the owner before deciding; empty when
	// nothing can be remembered.
	Covers string `json:"covers,omitempty"`
}

// key is what a remembered decision covers.
func (r Request) key() string {
	if r.Match != "" {
		return r.Match + "\x00" + r.Cwd
	}
	return r.Command + "\x00" + r.Cwd
}

// Pending is a waiting request as listed to the owner.
type Pending struct {
	ID string `json:"id"`
	Request
	RequestedAt time.Time `json:"requested_at"`
	AgeMS       int64     `json:"age_ms"`
	ExpiresInMS int64     `json:"expires_in_ms"`
}

// Outcome is how a request ended.
type Outcome struct {
	Allowed bool
	// Remembered is true when a grant approved it without asking; Grant
	// is then that grant and ID its request.
	Remembered bool
	ID         string
	Grant      *Grant
	// Channel is how the owner answered ("cli", "notification", …).
	Channel string
}

// Options configures a Queue.
type Options struct {
	Timeout    time.Duration // how long Ask waits (default DefaultTimeout)
	MaxPending int           // default DefaultMaxPending
	Log        *slog.Logger
	// Notify is told of each new request (a desktop notification). It
	// must not block; it may be nil.
	Notify func(Pending)
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// GrantsFile, when set, is where grants persist (Open reads it).
	GrantsFile string
}

// Queue holds pending requests and remembered decisions. The zero value
// is not usable; use New.
type Queue struct {
	opts    Options
	mu      sync.Mutex
	pending map[string]*entry
	grants  []*Grant
}

type entry struct {
	p        Pending
	deadline time.Time
	decided  chan decision // buffered, 1
}

type decision struct {
	allow   bool
	channel string
}

// New returns an empty queue.
func New(opts Options) *Queue {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Queue{opts: opts, pending: map[string]*entry{}}
}

// Open returns an empty queue holding the grants saved in
// opts.GrantsFile, if any.
func Open(opts Options) (*Queue, error) {
	q := New(opts)
	if opts.GrantsFile == "" {
		return q, nil
	}
	gs, err := loadGrants(opts.GrantsFile, q.opts.Now())
	if err != nil {
		return nil, err
	}
	q.grants = gs
	return q, nil
}

// Timeout is how long Ask waits for a decision.
func (q *Queue) Timeout() time.Duration { return q.opts.Timeout }

// Ask puts r in the queue and waits for the owner. It returns the outcome
// when the owner decided (Allowed false for a no) or a remembered decision
// covers r; a -32006 error with reason approval_timeout when nobody
// decided in time; a -32008 error with reason caller_gone when ctx ended
// first; and a -32005 error when too many requests are waiting.
func (q *Queue) Ask(ctx context.Context, r Request) (Outcome, error) {
	e, remembered, err := q.enqueue(r)
	if err != nil {
		return Outcome{}, err
	}
	if remembered != nil {
		return Outcome{Allowed: true, Remembered: true, ID: remembered.Approval, Grant: remembered}, nil
	}
	if q.opts.Notify != nil {
		q.opts.Notify(e.p)
	}
	t := time.NewTimer(q.opts.Timeout)
	defer t.Stop()
	select {
	case d := <-e.decided:
		return Outcome{Allowed: d.allow, ID: e.p.ID, Channel: d.channel}, nil
	case <-t.C:
		if d, ok := q.withdraw(e, string(errs.ReasonApprovalTimeout)); ok {
			return Outcome{Allowed: d.allow, ID: e.p.ID, Channel: d.channel}, nil
		}
		return Outcome{ID: e.p.ID}, errs.E(errs.Denied, errs.ReasonApprovalTimeout,
			errs.Hint("the owner did not answer within "+q.opts.Timeout.String()+"; ask again, or raise services.shell.approval_timeout"))
	case <-ctx.Done():
		if d, ok := q.withdraw(e, string(errs.ReasonCallerGone)); ok {
			return Outcome{Allowed: d.allow, ID: e.p.ID, Channel: d.channel}, nil
		}
		return Outcome{ID: e.p.ID}, errs.E(errs.Timeout, errs.ReasonCallerGone,
			errs.Hint("the request was withdrawn before the owner answered"), ctx.Err())
	}
}

// Covered returns the grant that approves r without asking, if any, and
// counts the use.
func (q *Queue) Covered(r Request) (*Grant, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	g := q.coveredLocked(&r, q.opts.Now())
	if g == nil {
		return nil, false
	}
	c := *g // a copy: the queue keeps counting uses on its own
	return &c, true
}

func (q *Queue) coveredLocked(r *Request, now time.Time) *Grant {
	for _, g := range q.grants {
		if g.Scope == Exact && g.live(now) && g.covers(r) {
			g.LastUsed, g.Uses = now, g.Uses+1
			return g
		}
	}
	g, _ := coveredBy(q.grants, r, now)
	if g != nil {
		q.opts.Log.Info("approval remembered", "grant", g.ID, "id", g.Approval, "command", r.Command, "cwd", r.Cwd,
			"caller_uid", r.Caller.UID, "caller_pid", r.Caller.PID, "sub", r.Caller.Sub, "agent", r.Caller.Agent)
	}
	return g
}

// enqueue adds r, or returns the grant that covers it.
func (q *Queue) enqueue(r Request) (*entry, *Grant, error) {
	now := q.opts.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if g := q.coveredLocked(&r, now); g != nil {
		c := *g
		return nil, &c, nil
	}
	if len(q.pending) >= q.opts.MaxPending {
		return nil, nil, errs.E(errs.RateLimited, errs.ReasonTooManyPending,
			errs.Hint("the owner already has requests waiting; wait for them to be decided"))
	}
	id, err := q.newID()
	if err != nil {
		return nil, nil, errs.E(errs.Internal, err)
	}
	e := &entry{p: Pending{ID: id, Request: r, RequestedAt: now}, deadline: now.Add(q.opts.Timeout),
		decided: make(chan decision, 1)}
	q.pending[id] = e
	q.opts.Log.Info("approval requested", "id", id, "command", r.Command, "cwd", r.Cwd,
		"caller_uid", r.Caller.UID, "caller_pid", r.Caller.PID, "via", r.Caller.Via, "sub", r.Caller.Sub,
		"agent", r.Caller.Agent, "policy", r.Policy)
	return e, nil, nil
}

// newID returns an unused 8-hex-digit id. Called with q.mu held.
func (q *Queue) newID() (string, error) {
	for range 8 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		id := hex.EncodeToString(b[:])
		if _, dup := q.pending[id]; !dup {
			return id, nil
		}
	}
	return "", errors.New("approval: no free id")
}

// withdraw removes e unless a decision raced in; then it returns that.
func (q *Queue) withdraw(e *entry, why string) (decision, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case d := <-e.decided:
		return d, true
	default:
	}
	delete(q.pending, e.p.ID)
	q.opts.Log.Info("approval withdrawn", "id", e.p.ID, "command", e.p.Command, "why", why)
	return decision{}, false
}

// List returns the waiting requests, oldest first.
func (q *Queue) List() []Pending {
	now := q.opts.Now()
	q.mu.Lock()
	out := make([]Pending, 0, len(q.pending))
	for _, e := range q.pending {
		p := e.p
		p.AgeMS = now.Sub(p.RequestedAt).Milliseconds()
		p.ExpiresInMS = max(e.deadline.Sub(now).Milliseconds(), 0)
		out = append(out, p)
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.Before(out[j].RequestedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Decide answers request id. With allow and remember > 0, the same
// command line from the same directory, whoever asks, is approved without
// asking for remember (at most MaxRemember). It returns when the decision
// is delivered; a -32004 error when no such request is waiting.
func (q *Queue) Decide(id string, allow bool, remember time.Duration) (time.Time, error) {
	if remember < 0 || remember > MaxRemember {
		return time.Time{}, errs.E(errs.InvalidParams, errs.ReasonBadRemember,
			errs.Hint("remember for between 0 and "+MaxRemember.String()))
	}
	d := Decision{Allow: allow}
	if allow && remember > 0 {
		d.Scope, d.For = Exact, remember
	}
	gs, err := q.DecideWith(id, d)
	if len(gs) == 0 || err != nil {
		return time.Time{}, err
	}
	return gs[0].Until, nil
}

// DecideWith answers request id with d. An approval with a scope other
// than Once is remembered as grants (newGrants: one, or one per command
// of a plain line), which it returns; one that may not be remembered
// (Request.NoRemember, a line that is not plain, a bad prefix or
// duration) is refused with an error naming why, and the request keeps
// waiting. It returns a -32004 error when no such request is waiting.
func (q *Queue) DecideWith(id string, d Decision) ([]*Grant, error) {
	if !d.Allow && d.Scope != "" && d.Scope != Once {
		return nil, errs.E(errs.InvalidParams, errs.ReasonBadScope,
			errs.Hint("a denial is never remembered; deny without a scope"))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.pending[id]
	if !ok {
		return nil, errs.E(errs.NotFound, errs.ReasonNoSuchApproval,
			errs.Hint("no request "+id+" is waiting (it may have been decided or timed out); run `carapace approvals`"))
	}
	now := q.opts.Now()
	var gs []*Grant
	if d.Allow && d.Scope != "" && d.Scope != Once {
		var err error
		live := q.liveLocked(now)
		if gs, err = newGrants(e.p, d, live, now); err != nil {
			return nil, err
		}
		q.grants = append(live, gs...)
		if err := q.saveLocked(); err != nil {
			q.grants = q.grants[:len(live)]
			return nil, errs.E(errs.Failed, errs.ReasonGrantsUnwritable,
				errs.Hint("the grant could not be saved, so nothing was decided; approve once, or fix the state directory"), err)
		}
	}
	delete(q.pending, id)
	e.decided <- decision{allow: d.Allow, channel: d.Channel}
	q.opts.Log.Info("approval decided", "id", id, "allow", d.Allow, "command", e.p.Command, "cwd", e.p.Cwd,
		"scope", d.Scope, "grants", grantIDs(gs), "channel", d.Channel, "caller_uid", e.p.Caller.UID, "sub", e.p.Caller.Sub)
	return gs, nil
}

func grantIDs(gs []*Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

// Preview returns the grant d would make for request id, without
// deciding: what the owner is shown before choosing.
func (q *Queue) Preview(id string, d Decision) (*Grant, error) {
	q.mu.Lock()
	e, ok := q.pending[id]
	q.mu.Unlock()
	if !ok {
		return nil, errs.E(errs.NotFound, errs.ReasonNoSuchApproval,
			errs.Hint("no request "+id+" is waiting; run `carapace approvals`"))
	}
	return newGrant(e.p, d, q.opts.Now())
}

// Grants returns the live grants, oldest first.
func (q *Queue) Grants() []Grant {
	q.mu.Lock()
	defer q.mu.Unlock()
	live := q.liveLocked(q.opts.Now())
	out := make([]Grant, len(live))
	for i, g := range live {
		out[i] = *g
	}
	return out
}

// Revoke ends grant id at once: the next request it would have covered
// asks the owner. It returns a -32004 error when there is no such grant.
func (q *Queue) Revoke(id string) (Grant, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, g := range q.liveLocked(q.opts.Now()) {
		if g.ID != id {
			continue
		}
		old := q.grants
		q.grants = append(slices.Clone(q.grants[:i]), q.grants[i+1:]...)
		if err := q.saveLocked(); err != nil {
			q.grants = old
			return Grant{}, errs.E(errs.Failed, errs.ReasonGrantsUnwritable,
				errs.Hint("the grant could not be removed from the state file; it still holds"), err)
		}
		q.opts.Log.Info("grant revoked", "grant", id, "prefix", g.Prefix, "dir", g.Dir, "agent", g.Agent)
		return *g, nil
	}
	return Grant{}, errs.E(errs.NotFound, errs.ReasonNoSuchGrant,
		errs.Hint("no grant "+id+" is live; `carapace grants` lists them"))
}

// liveLocked drops expired grants and returns the rest.
func (q *Queue) liveLocked(now time.Time) []*Grant {
	out := q.grants[:0]
	for _, g := range q.grants {
		if g.live(now) {
			out = append(out, g)
		}
	}
	clear(q.grants[len(out):])
	q.grants = out
	return out
}

func (q *Queue) saveLocked() error {
	if q.opts.GrantsFile == "" {
		return nil
	}
	return saveGrants(q.opts.GrantsFile, q.grants)
}
