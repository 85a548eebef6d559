// Package approval is the queue of requests waiting for the owner's yes or
// no: the shell service puts each command in it and waits; the owner lists
// the queue and decides, through a channel only the owner can reach (the
// shell service checks that, not this package).
//
// A decision may be remembered: the same key (for the shell service, the
// exact command line and working directory) is then approved without
// asking until the memory expires.
package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
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
	// Remembered is true when an earlier remembered decision approved it
	// without asking; ID is then that decision's request.
	Remembered bool
	ID         string
}

// grant is a remembered approval: until when, and the request the owner
// approved.
type grant struct {
	until time.Time
	id    string
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
}

// Queue holds pending requests and remembered decisions. The zero value
// is not usable; use New.
type Queue struct {
	opts     Options
	mu       sync.Mutex
	pending  map[string]*entry
	remember map[string]grant // key → the remembered approval
}

type entry struct {
	p        Pending
	deadline time.Time
	decided  chan decision // buffered, 1
}

type decision struct {
	allow    bool
	remember time.Duration
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
	return &Queue{opts: opts, pending: map[string]*entry{}, remember: map[string]grant{}}
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
	if remembered != "" {
		return Outcome{Allowed: true, Remembered: true, ID: remembered}, nil
	}
	if q.opts.Notify != nil {
		q.opts.Notify(e.p)
	}
	t := time.NewTimer(q.opts.Timeout)
	defer t.Stop()
	select {
	case d := <-e.decided:
		return Outcome{Allowed: d.allow, ID: e.p.ID}, nil
	case <-t.C:
		if d, ok := q.withdraw(e, string(errs.ReasonApprovalTimeout)); ok {
			return Outcome{Allowed: d.allow, ID: e.p.ID}, nil
		}
		return Outcome{ID: e.p.ID}, errs.E(errs.Denied, errs.ReasonApprovalTimeout,
			errs.Hint("the owner did not answer within "+q.opts.Timeout.String()+"; ask again, or raise services.shell.approval_timeout"))
	case <-ctx.Done():
		if d, ok := q.withdraw(e, string(errs.ReasonCallerGone)); ok {
			return Outcome{Allowed: d.allow, ID: e.p.ID}, nil
		}
		return Outcome{ID: e.p.ID}, errs.E(errs.Timeout, errs.ReasonCallerGone,
			errs.Hint("the request was withdrawn before the owner answered"), ctx.Err())
	}
}

// enqueue adds r, or returns the id of the remembered approval that
// covers it.
func (q *Queue) enqueue(r Request) (*entry, string, error) {
	now := q.opts.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if g, ok := q.remember[r.key()]; ok {
		if now.Before(g.until) {
			q.opts.Log.Info("approval remembered", "id", g.id, "command", r.Command, "cwd", r.Cwd,
				"caller_uid", r.Caller.UID, "caller_pid", r.Caller.PID, "sub", r.Caller.Sub, "agent", r.Caller.Agent, "until", g.until)
			return nil, g.id, nil
		}
		delete(q.remember, r.key())
	}
	if len(q.pending) >= q.opts.MaxPending {
		return nil, "", errs.E(errs.RateLimited, errs.ReasonTooManyPending,
			errs.Hint("the owner already has requests waiting; wait for them to be decided"))
	}
	id, err := q.newID()
	if err != nil {
		return nil, "", errs.E(errs.Internal, err)
	}
	e := &entry{p: Pending{ID: id, Request: r, RequestedAt: now}, deadline: now.Add(q.opts.Timeout),
		decided: make(chan decision, 1)}
	q.pending[id] = e
	q.opts.Log.Info("approval requested", "id", id, "command", r.Command, "cwd", r.Cwd,
		"caller_uid", r.Caller.UID, "caller_pid", r.Caller.PID, "via", r.Caller.Via, "sub", r.Caller.Sub,
		"agent", r.Caller.Agent, "policy", r.Policy)
	return e, "", nil
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
// command from the same directory is approved without asking for
// remember (at most MaxRemember). It returns when the decision is
// delivered; a -32004 error when no such request is waiting.
func (q *Queue) Decide(id string, allow bool, remember time.Duration) (time.Time, error) {
	if remember < 0 || remember > MaxRemember {
		return time.Time{}, errs.E(errs.InvalidParams, errs.ReasonBadRemember,
			errs.Hint("remember for between 0 and "+MaxRemember.String()))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.pending[id]
	if !ok {
		return time.Time{}, errs.E(errs.NotFound, errs.ReasonNoSuchApproval,
			errs.Hint("no request "+id+" is waiting (it may have been decided or timed out); run `carapace approvals`"))
	}
	delete(q.pending, id)
	e.decided <- decision{allow: allow, remember: remember}
	var until time.Time
	if allow && remember > 0 {
		until = q.opts.Now().Add(remember)
		q.remember[e.p.key()] = grant{until: until, id: id}
	}
	q.opts.Log.Info("approval decided", "id", id, "allow", allow, "command", e.p.Command, "cwd", e.p.Cwd,
		"remember", remember, "caller_uid", e.p.Caller.UID, "sub", e.p.Caller.Sub)
	return until, nil
}
