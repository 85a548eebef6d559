package code

import (
	"context"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/golang-jwt/jwt/v5"
)

// Network ask mode (services.code.network.ask): a connection to a host no
// allow rule covers is held by the proxy process while the owner is asked
// through this queue — the same approval.Queue the shell service keeps,
// listed and decided by the owner alone (`carapace approvals`,
// `carapace approve`; the router's approvals.network.* reach
// code.approvals.*, owner-only there and again here). A remembered
// approval covers the same host and port, for the same token, from the
// same directory ("for this token"); without remember it is this one
// connection ("once"). "Always" is the owner adding the host to the allow
// list. A time-out is a deny. The owner lists the remembered hosts and
// ends them (code.approvals.grants and .revoke, `carapace grants`); they
// live in memory only.

// ownerOnly refuses anyone but the owner, on a local entry, without a
// token (service.OwnerOnly).
func ownerOnly(op string, c service.Caller) error {
	return service.OwnerOnly(op, c, service.OwnerRefusal{
		Hint:   "network requests are decided only by the owner, with `carapace approvals` on this machine",
		Remote: errs.ReasonRemoteCannotApprove, Token: errs.ReasonTokenCannotApprove,
	})
}

// OwnerCall implements servicehost.OwnerCalls: the network approvals and
// the route secrets are reached by the owner through the router, with no
// token.
func (s *Service) OwnerCall(method string) bool {
	switch method {
	case "code.approvals.list", "code.approvals.decide", "code.approvals.grants", "code.approvals.revoke",
		"code.secrets.list", "code.secrets.remove", "code.secrets.set":
		return true
	}
	return false
}

// ApprovalsList is code.approvals.list's result.
type ApprovalsList struct {
	Pending           []approval.Pending `json:"pending"`
	ApprovalTimeoutMS int64              `json:"approval_timeout_ms"`
}

func (s *Service) approvalsList(_ context.Context, call *service.Call) (any, error) {
	const op = "code.approvals.list"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	if err := service.Decode(call.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	return ApprovalsList{Pending: s.asks.List(), ApprovalTimeoutMS: s.asks.Timeout().Milliseconds()}, nil
}

// ApprovalsDecide are code.approvals.decide's params: the request, the
// answer, and how long to remember an approval for this token (0: once).
type ApprovalsDecide struct {
	ID         string `json:"id"`
	Allow      *bool  `json:"allow"`
	RememberMS int64  `json:"remember_ms"`
	Channel    string `json:"channel"`
}

func (s *Service) approvalsDecide(_ context.Context, call *service.Call) (any, error) {
	const op = "code.approvals.decide"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	var p ApprovalsDecide
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if p.ID == "" || p.Allow == nil || p.RememberMS < 0 {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonMissingParam,
			errs.Hint(`give the request and the answer: {"id": "1a2b3c4d", "allow": true}`))
	}
	remember := time.Duration(p.RememberMS) * time.Millisecond
	until, err := s.asks.Decide(p.ID, *p.Allow, remember)
	if err != nil {
		return nil, errs.E(op, err)
	}
	verdict, reason := audit.Deny, "denied"
	if *p.Allow {
		verdict, reason = audit.Allow, "approved"
		if remember > 0 {
			reason = "approved for this token, remembered for " + remember.String()
		}
	}
	service.Decide(call, service.Decision{Decision: verdict, By: audit.ByOwner, Reason: reason, Approval: p.ID})
	res := map[string]any{"id": p.ID, "allowed": *p.Allow}
	if !until.IsZero() {
		res["remembered_until"] = until
	}
	return res, nil
}

// askOwner is the proxy process's question about t for the command call
// runs in dir: it waits for the owner (or the queue's time-out, a deny).
func (s *Service) askOwner(ctx context.Context, call *service.Call, dir string, t egress.Target) (bool, string) {
	who := askCaller(call.Caller)
	r := approval.Request{
		Command: "network: connect to " + t.String(),
		Match:   "network " + t.String() + "\x00" + tokenID(call.Caller.Token),
		Cwd:     dir, Caller: who,
	}
	out, err := s.asks.Ask(ctx, r)
	switch {
	case err != nil:
		return false, "asked the owner (ask mode): " + string(errs.ReasonOf(err))
	case out.Remembered:
		return true, "allowed by the owner earlier for this token (request " + out.ID + ")"
	case out.Allowed:
		return true, "allowed by the owner (request " + out.ID + ")"
	}
	return false, "refused by the owner (request " + out.ID + ")"
}

// askCaller is who asked, as the owner is shown it; the token's claims are
// read unverified: the service's Authorize verified it for this call, and
// they are shown, never trusted.
func askCaller(c service.Caller) approval.Caller {
	out := approval.Caller{UID: c.UID, PID: c.PID, Via: string(c.Via)}
	var claims struct {
		jwt.RegisteredClaims
		Agent string `json:"agent"`
	}
	if c.Token != "" {
		if _, _, err := jwt.NewParser().ParseUnverified(c.Token, &claims); err == nil {
			out.Sub, out.Agent, out.Iss = claims.Subject, claims.Agent, claims.Issuer
		}
	}
	return out
}

// tokenID is what "for this token" remembers: the token's jti, or the
// token itself when it has none.
func tokenID(raw string) string {
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err == nil && c.ID != "" {
		return c.ID
	}
	return raw
}

// NetworkGrant is a remembered network approval as the owner lists it:
// the host and port it lets through, for the token (by jti) and from the
// directory the owner approved, until when. Its ID is "n" and the
// request's id, so `carapace grants` tells it from a shell grant ("g…").
type NetworkGrant struct {
	ID     string `json:"id"`
	Target string `json:"target"`
	Dir    string `json:"dir"`
	// JTI is the token the grant is bound to; empty for a token without
	// an id (then no other token matches it, and it is not shown).
	JTI       string    `json:"jti,omitempty"`
	Until     time.Time `json:"until"`
	CreatedAt time.Time `json:"created_at"`
	Approval  string    `json:"approval"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Uses      int       `json:"uses,omitempty"`
}

// NetworkGrantsResult is code.approvals.grants' result.
type NetworkGrantsResult struct {
	Grants []NetworkGrant `json:"grants"`
}

// networkGrant is g as the owner is shown it; ok is false for a grant
// that is not a network one.
func networkGrant(g approval.Grant) (NetworkGrant, bool) {
	rest, ok := strings.CutPrefix(g.Command, "network ")
	if !ok || g.Scope != approval.Exact {
		return NetworkGrant{}, false
	}
	target, jti, _ := strings.Cut(rest, "\x00")
	if strings.Count(jti, ".") == 2 { // the token itself (no jti): never shown
		jti = ""
	}
	return NetworkGrant{ID: "n" + strings.TrimPrefix(g.ID, "g"), Target: target, Dir: g.Dir, JTI: jti,
		Until: g.Until, CreatedAt: g.CreatedAt, Approval: g.Approval, LastUsed: g.LastUsed, Uses: g.Uses}, true
}

func (s *Service) approvalsGrants(_ context.Context, call *service.Call) (any, error) {
	const op = "code.approvals.grants"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	if err := service.Decode(call.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	out := NetworkGrantsResult{Grants: []NetworkGrant{}}
	for _, g := range s.asks.Grants() {
		if ng, ok := networkGrant(g); ok {
			out.Grants = append(out.Grants, ng)
		}
	}
	return out, nil
}

// NetworkRevokeResult is code.approvals.revoke's result.
type NetworkRevokeResult struct {
	Revoked NetworkGrant `json:"revoked"`
}

// approvalsRevoke ends a remembered network approval at once: the next
// connection it covered is held and asked about again. A connection
// already through keeps going (the proxy does not cut tunnels).
func (s *Service) approvalsRevoke(_ context.Context, call *service.Call) (any, error) {
	const op = "code.approvals.revoke"
	if err := ownerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	rest, ok := strings.CutPrefix(p.ID, "n")
	if !ok || rest == "" {
		return nil, errs.E(op, errs.NotFound, errs.ReasonNoSuchGrant,
			errs.Hint("network grants have ids that start with n; `carapace grants` lists them"))
	}
	g, err := s.asks.Revoke("g" + rest)
	if err != nil {
		return nil, errs.E(op, err)
	}
	ng, _ := networkGrant(g)
	service.Decide(call, service.Decision{Decision: audit.Allow, By: audit.ByOwner,
		Reason: "revoked network grant " + ng.ID + ": " + ng.Target + " from " + ng.Dir, Approval: g.Approval})
	return NetworkRevokeResult{Revoked: ng}, nil
}
