package shell

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// ownerOnly is the first line of the approval methods: they are answered
// only for the owner (by peer credentials, as the router saw them) over a
// local socket, and never for a call that carries a token — a token is
// what an agent holds, and an agent must not approve its own commands.
func ownerOnly(op string, c service.Caller) error {
	const hint = "approvals are decided only by the owner, with `carapace approvals` on this machine"
	switch {
	case !c.Via.Local():
		return errs.E(op, errs.Forbidden, errs.ReasonRemoteCannotApprove, errs.Hint(hint))
	case !c.Owner:
		return errs.E(op, errs.Forbidden, errs.ReasonNotOwner, errs.Hint(hint))
	case c.Token != "":
		return errs.E(op, errs.Forbidden, errs.ReasonTokenCannotApprove,
			errs.Hint(hint+", on a connection that holds no token"))
	}
	return nil
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
	remember, err := p.rememberFor()
	if err != nil {
		return nil, errs.E(op, err)
	}
	if !validChannel(p.Channel) {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadChannel,
			errs.Hint(`channel is a short lower-case word naming how the owner answered, e.g. "cli"`))
	}
	until, err := s.queue.Decide(p.ID, *p.Allow, remember)
	if err != nil {
		return nil, errs.E(op, err)
	}
	// The owner's decision, recorded as the owner's own act (the router
	// writes it with the owner's uid, pid and entry); the request's own
	// records carry the same approval id.
	verdict, reason := audit.Deny, "denied"
	if *p.Allow {
		verdict, reason = audit.Allow, "approved"
		if remember > 0 {
			reason = "approved, remembered for " + remember.String()
		}
	}
	if p.Channel != "" {
		reason += " via " + p.Channel
	}
	decide(call, verdict, audit.ByOwner, reason, p.ID)
	res := DecideResult{ID: p.ID, Allowed: *p.Allow}
	if !until.IsZero() {
		res.RememberedUntil = &until
	}
	return res, nil
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
		out.Sub, out.Agent, out.Iss = claims.Subject, claims.Agent, claims.Issuer
	}
	return out
}
