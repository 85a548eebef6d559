package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// ownerOnly refuses anyone but the owner, on a local entry, without a
// token (service.OwnerOnly).
func ownerOnly(op string, c service.Caller) error {
	return service.OwnerOnly(op, c, service.OwnerRefusal{
		Hint:   "approvals are decided only by the owner, with `carapace approvals` on this machine",
		Remote: errs.ReasonRemoteCannotApprove, Token: errs.ReasonTokenCannotApprove,
	})
}

// ListResult is shell.approvals.list's result.
type ListResult struct {
	Pending           []approval.Pending `json:"pending"`
	ApprovalTimeoutMS int64              `json:"approval_timeout_ms"`
}

func (s *Service) list(_ context.Context, call *service.Call) (any, error) {
	const op = "shell.approvals.list"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	if err := service.Decode(call.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	return ListResult{Pending: s.queue.List(), ApprovalTimeoutMS: s.queue.Timeout().Milliseconds()}, nil
}

// DecideParams are shell.approvals.decide's params.
type DecideParams struct {
	ID    string `json:"id"`
	Allow *bool  `json:"allow"`
	// RememberMS, with allow, approves the same command line from the
	// same directory without asking for this long.
	RememberMS int64 `json:"remember_ms"`
	// Remember is the same as a number of milliseconds, a duration string
	// ("10m"), or true for DefaultRemember.
	Remember json.RawMessage `json:"remember"`
	// Channel names how the owner answered ("cli", "notification",
	// "menubar"): recorded with the decision, never checked — only the
	// owner can call decide at all.
	Channel string `json:"channel"`
	// Scope, with allow, remembers the approval as a grant: "once" (the
	// default), "token" (the caller's token, until it expires), a
	// duration ("10m"), or "always" (until revoked). Prefix is how many
	// leading words of the command the grant covers (default: the
	// program and its subcommand), Dir the directory subtree (default:
	// the request's directory).
	Scope  string `json:"scope"`
	Prefix int    `json:"prefix"`
	Dir    string `json:"dir"`
}

// decision reads scope, prefix, dir and the older remember forms.
func (p DecideParams) decision() (approval.Decision, error) {
	d := approval.Decision{Allow: *p.Allow, Prefix: p.Prefix, Dir: p.Dir, Channel: p.Channel}
	remember, err := p.rememberFor()
	if err != nil {
		return d, err
	}
	switch p.Scope {
	case "", "once":
		if remember > 0 && *p.Allow {
			d.Scope, d.For = approval.Exact, remember
		}
	case "token", "always":
		d.Scope = approval.Scope(p.Scope)
	default:
		v, err := time.ParseDuration(p.Scope)
		if err != nil || v <= 0 {
			return d, errs.E(errs.InvalidParams, errs.ReasonBadScope,
				errs.Hint(`scope is "once", "token", a duration such as "10m", or "always"`))
		}
		d.Scope, d.For = approval.ForTime, v
	}
	if p.Prefix < 0 {
		return d, errs.E(errs.InvalidParams, errs.ReasonBadPrefix, errs.Hint("prefix is a number of words, 1 or more"))
	}
	return d, nil
}

// validChannel reports whether c may be recorded as a decision's channel:
// a short lower-case word.
func validChannel(c string) bool {
	if len(c) > 32 {
		return false
	}
	for _, r := range c {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// DefaultRemember is how long `remember: true` approves a command again.
const DefaultRemember = 10 * time.Minute

// rememberFor reads remember_ms and remember.
func (p DecideParams) rememberFor() (time.Duration, error) {
	d := time.Duration(p.RememberMS) * time.Millisecond
	raw := bytes.TrimSpace(p.Remember)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "false" {
		return d, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return DefaultRemember, nil
	}
	var ms int64
	if json.Unmarshal(raw, &ms) == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if v, err := time.ParseDuration(str); err == nil && v >= 0 {
			return v, nil
		}
	}
	return 0, errs.E(errs.InvalidParams, errs.ReasonBadRemember,
		errs.Hint(`remember is true, a number of milliseconds, or a duration such as "10m"`))
}

// DecideResult is shell.approvals.decide's result.
type DecideResult struct {
	ID              string     `json:"id"`
	Allowed         bool       `json:"allowed"`
	RememberedUntil *time.Time `json:"remembered_until,omitempty"`
	// Grants are what the approval remembered (Grant the first), Covers
	// the same in words.
	Grant  *approval.Grant   `json:"grant,omitempty"`
	Grants []*approval.Grant `json:"grants,omitempty"`
	Covers string            `json:"covers,omitempty"`
}

func (s *Service) decide(_ context.Context, call *service.Call) (any, error) {
	const op = "shell.approvals.decide"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	var p DecideParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if p.ID == "" || p.Allow == nil {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonMissingParam,
			errs.Hint(`give the request and the answer: {"id": "1a2b3c4d", "allow": true}`))
	}
	if !validChannel(p.Channel) {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadChannel,
			errs.Hint(`channel is a short lower-case word naming how the owner answered, e.g. "cli"`))
	}
	d, err := p.decision()
	if err != nil {
		return nil, errs.E(op, err)
	}
	return s.decideWith(call, op, p.ID, d)
}

// decideWith delivers the owner's decision d on request id and records
// it as the owner's own act (the router writes it with the owner's uid,
// pid and entry, or the service's for a notification); the request's own
// records carry the same approval id.
func (s *Service) decideWith(call *service.Call, op, id string, d approval.Decision) (DecideResult, error) {
	if s.cfg.RequireHuman && d.Allow && d.Scope != "" && d.Scope != approval.Once {
		return DecideResult{}, errs.E(op, errs.Forbidden, errs.ReasonHumanRequired,
			errs.Hint("the managed policy (shell.require_human) lets you approve each command only once: approve without --scope"))
	}
	gs, err := s.queue.DecideWith(id, d)
	if err != nil {
		return DecideResult{}, errs.E(op, err)
	}
	var g *approval.Grant
	var covers []string
	for _, x := range gs {
		covers = append(covers, x.ID+": "+x.Describe())
	}
	verdict, reason := audit.Deny, "denied"
	if d.Allow {
		verdict, reason = audit.Allow, "approved"
		if len(gs) > 0 {
			g = gs[0]
			reason = "approved, remembered as grant " + strings.Join(covers, "; ")
		}
	}
	if d.Channel != "" {
		reason += " via " + d.Channel
	}
	if call != nil {
		decide(call, verdict, audit.ByOwner, reason, id)
	}
	res := DecideResult{ID: id, Allowed: d.Allow, Grant: g, Grants: gs}
	if g != nil {
		res.Covers = strings.Join(covers, "; ")
		if !g.Until.IsZero() {
			until := g.Until
			res.RememberedUntil = &until
		}
	}
	return res, nil
}

// GrantsResult is shell.approvals.grants' result.
type GrantsResult struct {
	Grants []approval.Grant `json:"grants"`
}

func (s *Service) grants(_ context.Context, call *service.Call) (any, error) {
	const op = "shell.approvals.grants"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	if err := service.Decode(call.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	return GrantsResult{Grants: s.queue.Grants()}, nil
}

// RevokeResult is shell.approvals.revoke's result.
type RevokeResult struct {
	Revoked approval.Grant `json:"revoked"`
}

func (s *Service) revoke(_ context.Context, call *service.Call) (any, error) {
	const op = "shell.approvals.revoke"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	g, err := s.queue.Revoke(p.ID)
	if err != nil {
		return nil, errs.E(op, err)
	}
	decide(call, audit.Allow, audit.ByOwner, "revoked grant "+g.ID+": "+g.Describe(), g.Approval)
	return RevokeResult{Revoked: g}, nil
}

// callerOf is who asked, as the owner is shown it. The token's sub and
// iss are read without checking its signature: the router verified the
// token before forwarding the call, and they are shown, never trusted.
func callerOf(c service.Caller) approval.Caller {
	out := approval.Caller{UID: c.UID, PID: c.PID, Via: string(c.Via)}
	if c.Token == "" {
		return out
	}
	var claims struct {
		jwt.RegisteredClaims
		Agent string `json:"agent"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(c.Token, &claims); err == nil {
		out.Sub, out.Agent, out.Iss, out.JTI = claims.Subject, claims.Agent, claims.Issuer, claims.ID
		if len(claims.Audience) > 0 {
			out.Aud = claims.Audience[0]
		}
		if claims.ExpiresAt != nil {
			out.Exp = claims.ExpiresAt.Time
		}
	}
	return out
}
