package router

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// DefaultMaxTTL is the longest token the owner may mint when tokens.max_ttl
// is not set.
const DefaultMaxTTL = 24 * time.Hour

func session(ctx context.Context) *rpcserver.Session {
	s, _ := ctx.Value(sessionKey{}).(*rpcserver.Session)
	return s
}

func (r *Router) auth0(op string) (*Auth, error) {
	if r.opts.Auth == nil {
		return nil, errs.E(op, errs.Unavailable, errs.ReasonNoAuthorizer,
			errs.Hint("the router was started without token verification"))
	}
	return r.opts.Auth, nil
}

// tokenParam is the start of a call whose params are {"token"}: the
// verifier, and the token as sent.
func (r *Router) tokenParam(op string, c *service.Call) (*Auth, string, error) {
	a, err := r.auth0(op)
	if err != nil {
		return nil, "", err
	}
	var p struct {
		Token string `json:"token"`
	}
	if err := service.Decode(c.Params, &p); err != nil {
		return nil, "", errs.E(op, err)
	}
	return a, p.Token, nil
}

// authResult is auth's answer: what the connection now holds.
type authResult struct {
	Aud   string   `json:"aud"`
	Scope []string `json:"scope"`
	Exp   int64    `json:"exp"`
	Sub   string   `json:"sub,omitempty"`
	Agent string   `json:"agent,omitempty"`
	Once  bool     `json:"once,omitempty"`
}

// authToken handles auth {"token"}: it verifies the token (for whatever
// audience it names) and keeps it for the connection, replacing any token
// it held for that audience. A one-time token is not used up by auth.
func (r *Router) authToken(ctx context.Context, c *service.Call) (any, error) {
	const op = "auth"
	a, err := r.auth0(op)
	if err != nil {
		return nil, err
	}
	var p struct {
		Token string `json:"token"`
		Via   string `json:"via"` // the front door the caller serves: "mcp"
	}
	if err := service.Decode(c.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if err := checkFrontDoor(p.Via, c.Caller.Via); err != nil {
		return nil, errs.E(op, err)
	}
	tok := p.Token
	start := time.Now()
	rec := audit.Record{Via: string(c.Caller.Via), UID: c.Caller.UID, PID: c.Caller.PID, Method: op}
	if p.Via != "" {
		rec.Via = p.Via
	}
	if err := a.Limiter.Call(c.Caller.UID, ""); err != nil {
		return nil, err
	}
	h, err := a.Verifier.CheckHeld(token.Held{Raw: tok}, "")
	if err != nil {
		return nil, r.deny(rec, start, errs.E(op, err))
	}
	t := h.T
	rec.Sub, rec.Agent, rec.JTI, rec.Iss, rec.Resource = t.Subject, t.Agent, t.ID, t.Issuer, t.Audience
	s := session(ctx)
	caller, err := r.callerRecord(s.Info(), tok)
	if err != nil {
		return nil, errs.E(op, errs.Internal, err)
	}
	if err := r.allowed(rec, start); err != nil {
		return nil, err
	}
	st := r.state(s)
	if p.Via != "" {
		st.setFrontDoor(p.Via)
	}
	st.put(t.Audience, &held{Held: h, caller: caller})
	return authResult{Aud: t.Audience, Scope: t.Scope.Strings(), Exp: t.Expires.Unix(), Sub: t.Subject, Agent: t.Agent, Once: t.Once}, nil
}

// frontDoors are the values auth's "via" may take: a local program that
// serves another protocol to agents and forwards their calls, so that the
// audit log says which door a call came through. It is the caller's own
// claim, taken only on the local socket (where the uid and pid beside it
// are the kernel's); a remote entry's via is never overwritten.
var frontDoors = map[string]bool{"mcp": true}

func checkFrontDoor(via string, transport service.Via) error {
	switch {
	case via == "":
		return nil
	case !frontDoors[via]:
		return errs.E(errs.InvalidParams, errs.ReasonBadVia, errs.Hint(`via names the front door the caller serves: "mcp"`),
			fmt.Errorf("via %q", via))
	case transport != service.ViaUnix:
		return errs.E(errs.Forbidden, errs.ReasonBadVia, errs.Hint("via is taken only on the local Unix socket"),
			fmt.Errorf("via %q over %s", via, transport))
	}
	return nil
}

// Authenticate holds raw for session s exactly as an `auth` call would: the
// WebSocket entry's "Authorization: Bearer" header.
func (r *Router) Authenticate(s *rpcserver.Session, raw string) error {
	ci := s.Info()
	params, err := json.Marshal(map[string]string{"token": raw})
	if err != nil {
		return err
	}
	call := &service.Call{Method: "auth", Params: params,
		Caller: service.Caller{UID: ci.Creds.UID, GID: ci.Creds.GID, PID: ci.Creds.PID, Via: ci.Via}}
	_, err = r.authToken(context.WithValue(s.Context(), sessionKey{}, s), call)
	return err
}

// allowed writes an allow record; a record that cannot be written refuses
// the operation it describes.
func (r *Router) allowed(rec audit.Record, start time.Time) error {
	a := r.opts.Auth
	if a == nil || a.Audit == nil {
		return nil
	}
	rec.Decision, rec.By = audit.Allow, audit.ByRouter
	rec.DurationUS = time.Since(start).Microseconds()
	if err := a.Audit.Write(rec); err != nil {
		return errs.E(rec.Method, errs.Unavailable, errs.ReasonAuditUnavailable,
			errs.Hint("the audit log cannot be written (disk full? permissions?); nothing is allowed until it can"), err)
	}
	return nil
}

// IssueParams are token.issue's params.
type IssueParams struct {
	Aud        string   `json:"aud"` // "file", "code", … or the full audience
	Scope      []string `json:"scope"`
	TTLSeconds int64    `json:"ttl_seconds"`
	Once       bool     `json:"once"`
	Sub        string   `json:"sub"` // whom the holder acts for (default "owner")
	// Name is the agent claim: the program the token is for ("claude");
	// default "<service>-agent". It names the caller in approvals and in
	// every audit record of the token's calls.
	Name string `json:"name"`
	// Network narrows the hosts the token's commands may reach (code
	// tokens; the claim Claims.Network): nil leaves the owner's rules,
	// an empty list means no network. It never widens them.
	Network *[]string `json:"network,omitempty"`
}

// IssueResult is token.issue's answer.
type IssueResult struct {
	Token string   `json:"token"`
	Agent string   `json:"agent"`
	Exp   int64    `json:"exp"`
	JTI   string   `json:"jti"`
	Aud   string   `json:"aud"`
	Scope []string `json:"scope"`
}

// issue handles token.issue for the owner (Dispatch has checked that):
// a token no wider than the owner configuration allows, for an enabled
// service, for at most the configured maximum TTL.
func (r *Router) issue(_ context.Context, c *service.Call) (any, error) {
	const op = "token.issue"
	a, err := r.auth0(op)
	if err != nil {
		return nil, err
	}
	var p IssueParams
	if err := service.Decode(c.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	start := time.Now()
	rec := audit.Record{Via: string(c.Caller.Via), UID: c.Caller.UID, PID: c.Caller.PID, Method: op, Sub: p.Sub}
	if err := a.Limiter.Call(c.Caller.UID, ""); err != nil {
		return nil, err
	}
	aud, ttl, err := r.checkIssue(a, &p)
	rec.Resource = aud
	if err != nil {
		return nil, r.deny(rec, start, errs.E(op, err))
	}
	if p.Sub == "" {
		p.Sub = "owner"
	}
	if p.Name == "" {
		p.Name = token.ServiceFor(aud) + "-agent"
	}
	rec.Agent = p.Name
	if a.Policy != nil {
		// Refuse now what the managed policy would refuse at the first
		// call: the service, the agent, the lifetime.
		now := time.Now()
		v := &token.Verified{Agent: p.Name, Owner: true, Audience: aud, IssuedAt: now, Expires: now.Add(ttl)}
		if err := a.Policy(v, token.ServiceFor(aud), op, nil); err != nil {
			return nil, r.deny(rec, start, err)
		}
	}
	raw, claims, err := a.Minter.MintNarrowed(aud, p.Scope, ttl, p.Once, p.Sub, p.Name, p.Network)
	if err != nil {
		return nil, r.deny(rec, start, errs.E(op, err))
	}
	rec.Sub, rec.JTI, rec.Iss = p.Sub, claims.ID, claims.Issuer
	if err := a.Issued.Add(token.IssuedToken{JTI: claims.ID, Agent: claims.Agent, Sub: p.Sub, Aud: aud,
		Scope: claims.Scope, Once: p.Once, IssuedAt: start, Exp: claims.ExpiresAt.Time}); err != nil {
		// Minted but unlisted: `carapace grants` would not show it, so
		// it is not handed out.
		return nil, r.deny(rec, start, errs.E(op, err))
	}
	if err := r.allowed(rec, start); err != nil {
		return nil, err
	}
	return IssueResult{Token: raw, Agent: claims.Agent, Exp: claims.ExpiresAt.Unix(), JTI: claims.ID, Aud: aud, Scope: claims.Scope}, nil
}

// checkIssue returns the audience and TTL of a mint request, or why the
// owner may not have it.
func (r *Router) checkIssue(a *Auth, p *IssueParams) (string, time.Duration, error) {
	aud, err := token.AudienceFor(p.Aud)
	if err != nil || aud == token.AudRouter {
		return "", 0, errs.E(errs.InvalidParams, errs.Reason(errs.ReasonAudienceMismatch),
			errs.Hint("aud is one of "+strings.Join(service.Names(), ", ")), fmt.Errorf("audience %q", p.Aud))
	}
	svc := token.ServiceFor(aud)
	allowed, enabled := a.Grants[aud]
	if why := r.back[svc].Why; !enabled && why != "" {
		return aud, 0, errs.E(errs.Forbidden, errs.ReasonNotEnabled, errs.Hint(why))
	}
	if !enabled {
		return aud, 0, errs.E(errs.Forbidden, errs.ReasonNotEnabled,
			errs.Hint("the "+svc+" service is disabled; enable it in ~/.config/gimme/local.yaml (services."+svc+".enabled: true)"))
	}
	maxTTL := a.MaxTTL
	if maxTTL <= 0 {
		maxTTL = DefaultMaxTTL
	}
	ttl := time.Duration(p.TTLSeconds) * time.Second
	if p.TTLSeconds <= 0 || ttl > maxTTL {
		return aud, 0, errs.E(errs.Forbidden, errs.ReasonBadTTL,
			errs.Hint(fmt.Sprintf("give ttl_seconds from 1 to %d (tokens.max_ttl in the system config: %v)", int64(maxTTL/time.Second), maxTTL)),
			fmt.Errorf("ttl %ds", p.TTLSeconds))
	}
	if p.Network != nil {
		if svc != "code" {
			return aud, 0, errs.E(errs.InvalidParams, errs.ReasonBadNetwork,
				errs.Hint("--network narrows a code token's network; leave it out for "+svc))
		}
		if _, err := egress.ParseRules(*p.Network, nil); err != nil {
			return aud, 0, errs.E(errs.InvalidParams, errs.ReasonBadNetwork,
				errs.Hint("write --network as a host pattern, e.g. registry.npmjs.org or '*.pythonhosted.org:443' (docs/network.md)"), err)
		}
	}
	req, err := scope.ParseSet(p.Scope, aud, a.Home)
	if err != nil {
		return aud, 0, errs.E(errs.InvalidParams, errs.ReasonBadScope,
			errs.Hint("write scope entries as VERB:path, e.g. GET:~/Documents/*"), err)
	}
	if !req.Within(allowed) {
		return aud, 0, errs.E(errs.Forbidden, errs.ReasonScopeTooWide,
			errs.Hint("the owner configuration allows at most: "+grantText(allowed)+" (widen "+configKey[svc]+" in ~/.config/gimme/local.yaml)"),
			fmt.Errorf("%s is wider than the configuration allows", strings.Join(req.Strings(), ", ")))
	}
	return aud, ttl, nil
}

// configKey names the owner-config key that bounds each service's tokens.
var configKey = map[string]string{
	"file": "services.file.paths", "code": "services.code.project_roots",
	"shell": "services.shell", "app": "services.app.allowed_apps",
}

func grantText(s scope.Set) string {
	if len(s) == 0 {
		return "nothing"
	}
	return errs.List(s.Strings(), 400) // never cutting an entry
}

// revoke handles token.revoke {"jti", "until"}: the token is refused from
// now on, by the router and by the services, across restarts. until (unix
// seconds, optional) is when the entry may be forgotten: the token's exp.
func (r *Router) revoke(_ context.Context, c *service.Call) (any, error) {
	const op = "token.revoke"
	a, err := r.auth0(op)
	if err != nil {
		return nil, err
	}
	var p struct {
		JTI   string `json:"jti"`
		Until int64  `json:"until"`
	}
	if err := service.Decode(c.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if p.JTI == "" || len(p.JTI) > token.MaxJTILen {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadJTI,
			errs.Hint("give the token's jti (`carapace token inspect TOKEN` shows it)"))
	}
	start := time.Now()
	rec := audit.Record{Via: string(c.Caller.Via), UID: c.Caller.UID, PID: c.Caller.PID, Method: op, JTI: p.JTI}
	var until time.Time
	if p.Until > 0 {
		until = time.Unix(p.Until, 0).Add(token.DefaultLeeway)
	} else if t, ok := a.Issued.Lookup(p.JTI); ok {
		until = t.Exp.Add(token.DefaultLeeway)
	}
	if err := a.Revoked.Revoke(p.JTI, until); err != nil {
		return nil, r.deny(rec, start, errs.E(op, errs.Failed, errs.ReasonRevokeFailed, err))
	}
	if err := r.allowed(rec, start); err != nil {
		return nil, err
	}
	return map[string]any{"jti": p.JTI, "revoked": true}, nil
}

// TokensResult is token.list's answer.
type TokensResult struct {
	Tokens []token.IssuedToken `json:"tokens"`
}

// listTokens handles token.list for the owner: the tokens this router
// minted that have not expired, with their last use and whether they are
// revoked.
func (r *Router) listTokens(_ context.Context, c *service.Call) (any, error) {
	const op = "token.list"
	a, err := r.auth0(op)
	if err != nil {
		return nil, err
	}
	if err := service.Decode(c.Params, &struct{}{}); err != nil {
		return nil, errs.E(op, err)
	}
	ts := a.Issued.List(a.Revoked)
	if ts == nil {
		ts = []token.IssuedToken{}
	}
	return TokensResult{Tokens: ts}, nil
}

// reload handles config.reload: the issuers' keys are read again.
func (r *Router) reload(context.Context, *service.Call) (any, error) {
	const op = "config.reload"
	if err := r.Reload(); err != nil {
		return nil, errs.E(op, err)
	}
	return map[string]any{"reloaded": true}, nil
}

// Reload re-reads the issuers' keys (config.reload and SIGHUP). A bad file
// keeps the keys it had, and the error names it.
func (r *Router) Reload() error {
	a, err := r.auth0("config.reload")
	if err != nil {
		return err
	}
	if a.Reload == nil {
		return nil
	}
	if err := a.Reload(); err != nil {
		return errs.E(errs.Failed, errs.ReasonReloadFailed,
			errs.Hint("fix the file named above; the keys it held before are kept"), err)
	}
	return nil
}

// inspect answers token.inspect {"token"} for the owner: the claims and
// whether the router would accept the token now, and if not why. Unlike a
// check made outside the router (carapace token inspect without a running
// stack), it knows the one-time tokens already used. It consumes nothing.
func (r *Router) inspect(_ context.Context, c *service.Call) (any, error) {
	const op = "token.inspect"
	a, tok, err := r.tokenParam(op, c)
	if err != nil {
		return nil, err
	}
	return a.Verifier.Inspect(strings.TrimSpace(tok)), nil
}
