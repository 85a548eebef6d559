package router

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/ratelimit"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// Auth is what the router authorises with: the token verifier and minter,
// the revocation list, the audit log, the rate limiter and what the owner
// configuration lets the owner mint. core/stack builds it from the config.
type Auth struct {
	Verifier *token.Verifier
	Minter   *token.Minter
	Revoked  *token.Revocations
	// Issued lists the tokens token.issue minted and when each was last
	// used (token.list, `carapace grants`); nil keeps no list.
	Issued *token.Issued
	// Audit receives one record per decision; nil turns auditing off
	// (audit.disabled, for benchmarks only).
	Audit   *audit.Log
	Limiter *ratelimit.Limiter
	// Grants is, per audience, the widest scope the owner may mint; an
	// audience missing from it belongs to a disabled service.
	Grants map[string]scope.Set
	Home   string        // the owner's home, for "~" in requested scopes
	MaxTTL time.Duration // the longest token the owner may mint
	// Reload re-reads the issuers' keys (config.reload, SIGHUP).
	Reload func() error
	// Policy, when set, has the last word on every call the token's scope
	// allows: the fleet's managed policy as it is now (core/managed), so
	// a policy changed after a token was issued binds it at its next call.
	Policy func(t *token.Verified, svc, method string, acc []Access) error
	// Resources, when set, replaces what each service says its calls
	// touch (service.Spec.Rules); for tests.
	Resources map[string]ResourceFunc
}

// connState is what the router keeps per connection: its tokens, one per
// audience, each with the caller record forwarded with its calls.
type connState struct {
	mu     sync.Mutex
	tokens map[string]*held
	front  string // the front door the caller declared at auth ("mcp"), for the audit log
	// cancels is set once a forwarded call has made the session cancel
	// its calls still in flight when it ends (cancelOnClose).
	cancels atomic.Bool
	ctx     atomic.Pointer[context.Context] // ownCtx's
}

// ownCtx is the context the router's own methods run with for session
// s: the session's, carrying s (session(ctx)). Made once per session, not
// per call.
func (c *connState) ownCtx(s *rpcserver.Session) context.Context {
	if p := c.ctx.Load(); p != nil {
		return *p
	}
	ctx := context.WithValue(s.Context(), sessionKey{}, s)
	c.ctx.CompareAndSwap(nil, &ctx)
	return *c.ctx.Load()
}

// held is one token a connection holds.
type held struct {
	token.Held                 // verified at auth, rechecked per call
	caller     json.RawMessage // service.Caller with this token, encoded once
}

func newConnState() any { return &connState{tokens: map[string]*held{}} }

func (c *connState) get(aud string) *held {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens[aud]
}

func (c *connState) put(aud string, h *held) {
	c.mu.Lock()
	c.tokens[aud] = h
	c.mu.Unlock()
}

func (c *connState) setFrontDoor(via string) {
	c.mu.Lock()
	c.front = via
	c.mu.Unlock()
}

func (c *connState) frontDoor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.front
}

// audiences returns the audiences the connection holds tokens for, sorted.
func (c *connState) audiences() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.tokens))
	for a := range c.tokens {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (r *Router) state(s *rpcserver.Session) *connState {
	return s.State(newConnState).(*connState)
}

// authorize decides whether the session may make this call to svc, writes
// the decision to the audit log, and returns the caller record (with the
// token) to forward. The rule (DESIGN.md): every service call needs a
// valid token for the service's audience whose scope covers what the call
// touches; peer identity never widens it.
func (r *Router) authorize(s *rpcserver.Session, svc, method string, params json.RawMessage) (grant, error) {
	a := r.opts.Auth
	if a == nil {
		// Without a verifier no token can be valid: every call is
		// unauthenticated.
		return grant{}, errs.E(method, errs.Unauthorized, errs.ReasonNoAuthorizer,
			errs.Hint("this router was started without token verification (no state directory), so no service call can be authorised"))
	}
	start := time.Now()
	info := s.Info()
	rec := audit.Record{Time: start, Via: string(info.Via), UID: info.Creds.UID, PID: info.Creds.PID, Method: method, By: audit.ByRouter}
	aud, err := token.AudienceFor(svc)
	if err != nil {
		return grant{}, r.deny(rec, start, errs.E(method, errs.Internal, err))
	}
	st := r.state(s)
	if f := st.frontDoor(); f != "" {
		rec.Via = f
	}
	h := st.get(aud)
	if h == nil {
		if err := a.Limiter.Call(info.Creds.UID, ""); err != nil {
			return grant{}, r.limited(rec, start, err)
		}
		return grant{}, r.deny(rec, start, noToken(method, aud, st.audiences()))
	}
	checked, err := a.Verifier.CheckHeld(h.Held, aud)
	if err != nil {
		if lerr := a.Limiter.Call(info.Creds.UID, ""); lerr != nil {
			return grant{}, r.limited(rec, start, lerr)
		}
		return grant{}, r.deny(rec, start, errs.E(method, err))
	}
	t := checked.T
	rec.Sub, rec.Agent, rec.JTI, rec.Iss = t.Subject, t.Agent, t.ID, t.Issuer
	if err := a.Limiter.Call(info.Creds.UID, t.Holder); err != nil {
		return grant{}, r.limited(rec, start, err)
	}
	if err := r.allow(t, svc, method, params, &rec); err != nil {
		return grant{}, r.deny(rec, start, err)
	}
	if err := a.Verifier.Consume(t); err != nil {
		return grant{}, r.deny(rec, start, errs.E(method, err))
	}
	a.Issued.Used(t.ID, start)
	rec.Decision = audit.Allow
	rec.DurationUS = time.Since(start).Microseconds()
	g := grant{caller: h.caller}
	if a.Audit != nil {
		// Queued, not waited for: the service connection writes the
		// log just before the write that carries this call (bconn.send).
		if g.ticket, err = a.Audit.Queue(rec); err != nil {
			return grant{}, errs.E(method, errs.Unavailable, errs.ReasonAuditUnavailable,
				errs.Hint("the audit log cannot be written (disk full? permissions?); calls are refused until it can"), err)
		}
		g.log, g.queued = a.Audit, true
		// What the service decides next is recorded under this record.
		g.call = callRecord{t: t, via: rec.Via, method: method, resource: rec.Resource, start: start, ref: g.ticket.Seq()}
	}
	return g, nil
}

// grant is what an allowed call is forwarded with: the caller record (with
// the token) and, with auditing on, the log, the ticket of the call's
// queued audit record (queued: it must be written before the call reaches
// the service) and what the service's own decisions about the call are
// recorded with (call).
type grant struct {
	caller json.RawMessage
	log    *audit.Log
	ticket audit.Ticket
	queued bool
	call   callRecord
}

// callRecord is what a record of a service's decision takes from the call
// it is about: the token, the entry or front door the router recorded,
// what was called on what, when, and the seq of the router's record
// (ref). The caller's uid and pid come from the session. Kept small: every
// forwarded call carries one.
type callRecord struct {
	t                     *token.Verified // nil: a call without a token (approvals.*)
	via, method, resource string          // via "": the session's
	start                 time.Time
	ref                   uint64
}

// record returns the audit record of a decision about the call, for the
// caller of session s, without the decision.
func (c *callRecord) record(s *rpcserver.Session) audit.Record {
	info := s.Info()
	r := audit.Record{Time: c.start, Via: string(info.Via), UID: info.Creds.UID, PID: info.Creds.PID,
		Method: c.method, Resource: c.resource, Ref: c.ref}
	if c.via != "" {
		r.Via = c.via
	}
	if c.t != nil {
		r.Sub, r.Agent, r.JTI, r.Iss = c.t.Subject, c.t.Agent, c.t.ID, c.t.Issuer
	}
	return r
}

// allow checks the token's scope against what the call touches.
func (r *Router) allow(t *token.Verified, svc, method string, params json.RawMessage, rec *audit.Record) error {
	fn, ok := r.resources(svc)
	if !ok {
		return errs.E(method, service.Unscoped(method))
	}
	acc, err := fn(method, params)
	if err != nil {
		return errs.E(method, err)
	}
	names := make([]string, len(acc))
	for i := range acc {
		acc[i].Resource = expandHome(acc[i].Resource, r.opts.Auth.Home)
		names[i] = acc[i].Resource
	}
	rec.Resource = strings.Join(names, " ")
	for _, x := range acc {
		if !filepath.IsAbs(x.Resource) {
			return errs.E(method, errs.InvalidParams, errs.ReasonRelativePath,
				errs.Hint("give absolute paths"), fmt.Errorf("%q is not absolute", x.Resource))
		}
		if err := t.Allow(x.Verb, x.Resource); err != nil {
			return errs.E(method, err)
		}
	}
	if p := r.opts.Auth.Policy; p != nil {
		return p(t, svc, method, acc)
	}
	return nil
}

// deny writes a deny record for err and returns err. A deny record that
// cannot be written is logged; the call is refused either way.
func (r *Router) deny(rec audit.Record, start time.Time, err error) error {
	a := r.opts.Auth
	if a == nil || a.Audit == nil {
		return err
	}
	rec.Decision = audit.Deny
	if rec.By == "" {
		rec.By = audit.ByRouter
	}
	rec.Reason = string(errs.ReasonOf(err))
	if rec.Reason == "" {
		rec.Reason = errs.KindOf(err).String()
	}
	rec.DurationUS = time.Since(start).Microseconds()
	if werr := a.Audit.Write(rec); werr != nil {
		r.log().Error("audit write failed", "method", rec.Method, "err", werr)
	}
	return err
}

// limited records a rate-limit refusal and returns err. A flood must not
// cost an fsync per call: at most one record a second for each caller (uid
// and token sub), which counts in repeat the refusals not written since
// that caller's previous one.
func (r *Router) limited(rec audit.Record, start time.Time, err error) error {
	a := r.opts.Auth
	if a == nil || a.Audit == nil {
		return err
	}
	n, write := r.limits.note(strconv.Itoa(rec.UID)+"\x00"+rec.Agent+"\x00"+rec.Sub, start)
	if !write {
		return err
	}
	rec.Repeat = n
	return r.deny(rec, start, err)
}

// limitLog remembers, per caller, when its last rate-limit record was
// written and how many refusals were not written since.
type limitLog struct {
	mu   sync.Mutex
	last map[string]*limitEntry
}

type limitEntry struct {
	at      time.Time
	skipped int
}

// maxLimitKeys bounds limitLog; when full it starts again (a caller then
// gets one record early, never one too few).
const maxLimitKeys = 4096

// note reports whether a refusal of key at now is to be written, and how
// many of key's refusals were skipped since its last record.
func (l *limitLog) note(key string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.last[key]
	if e != nil && now.Sub(e.at) < time.Second {
		e.skipped++
		return 0, false
	}
	skipped := 0
	if e != nil {
		skipped = e.skipped
	}
	if l.last == nil || len(l.last) >= maxLimitKeys {
		l.last = map[string]*limitEntry{}
	}
	l.last[key] = &limitEntry{at: now}
	return skipped, true
}

// noToken explains a call made without a token for the service.
func noToken(method, aud string, have []string) error {
	svc := token.ServiceFor(aud)
	issue := "carapace token issue --aud " + svc + " --scope '…' --ttl 1h"
	if len(have) == 0 {
		return errs.E(method, errs.Unauthorized, errs.ReasonNoToken,
			errs.Hint("call auth {\"token\": …} with a token for "+aud+" first (CLI: --token, --token-file or $GIMME_TOKEN); the owner makes one with `"+issue+"`"),
			fmt.Errorf("no token for %s on this connection", aud))
	}
	return errs.E(method, errs.Unauthorized, errs.Reason(errs.ReasonAudienceMismatch),
		errs.Hint("this connection holds tokens for "+strings.Join(have, ", ")+" only; a token opens one service: auth with one for "+aud+" (`"+issue+"`)"),
		fmt.Errorf("no token for %s on this connection", aud))
}

// callerRecord encodes the caller record forwarded with a token's calls.
func (r *Router) callerRecord(info rpcserver.ConnInfo, raw string) (json.RawMessage, error) {
	return json.Marshal(service.Caller{UID: info.Creds.UID, GID: info.Creds.GID, PID: info.Creds.PID,
		Owner: r.isOwner(info), Via: info.Via, Token: raw})
}

// ownerOnlyMethod reports whether only the owner may call method: minting
// and revoking tokens, approving, changing the configuration, and
// handing the code service a credential route's secret.
func ownerOnlyMethod(method string) bool {
	for _, p := range []string{"token.", "approvals.", "config.", "secrets."} {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// ownerOnly refuses an owner-only method to anyone but the owner, and to
// everyone over any entry but the local socket (the WebSocket, the relay,
// MCP over HTTP): nothing reachable from a browser or the network may
// mint, approve or reconfigure. The refusal is -32003 (forbidden), reason
// remote_entry or not_owner.
func (r *Router) ownerOnly(info rpcserver.ConnInfo, method string) error {
	if !info.Via.Local() {
		return errs.E(method, errs.Forbidden, errs.ReasonRemoteEntry,
			errs.Hint("token.*, approvals.*, config.* and secrets.* are answered only over the local Unix socket (or XPC), never over "+string(info.Via)))
	}
	if !r.isOwner(info) {
		return errs.E(method, errs.Forbidden, errs.ReasonNotOwner,
			errs.Hint("only the owner (uid "+strconv.Itoa(r.opts.OwnerUID)+"), outside any sandbox, may do this; ask the owner for a token (`carapace token issue`)"))
	}
	return nil
}

// expandHome replaces a leading "~" with home, as the file service does.
func expandHome(p, home string) string {
	if home == "" || (p != "~" && !strings.HasPrefix(p, "~/")) {
		return p
	}
	return filepath.Join(home, p[1:])
}
