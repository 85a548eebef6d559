package token

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/golang-jwt/jwt/v5"
)

// Claims is a token's payload (DESIGN.md, "Capability tokens").
//
// A one-time token carries "once": true and must carry a jti; the router
// accepts it for one service call and remembers its jti until it expires.
//
// sub is the principal the holder acts for: "owner" in every token this
// device mints (the owner is the only one who mints), an account id in a
// cloud issuer's. agent is the name of the program holding the token
// ("claude"), given at issue; approvals and audit records show it, so a
// request made with an agent's token is never labelled "owner".
type Claims struct {
	jwt.RegisteredClaims
	Scope    []string `json:"scope,omitempty"`
	DeviceID string   `json:"device_id"`
	Once     bool     `json:"once,omitempty"`
	Agent    string   `json:"agent,omitempty"`
	// Network, when present, narrows the hosts the token's commands may
	// reach to these patterns (core/egress's allow syntax) within the
	// owner's rules: a host must be in both. An empty list: no network.
	// Absent: the owner's rules as they are. It can never widen them
	// (docs/tokens.md, docs/network.md).
	Network *[]string `json:"network,omitempty"`
}

// NetworkClaim returns the network claim of raw, nil when it has none.
// It does not verify raw: call it only on a token this call's Authorize
// hook has just verified.
func NetworkClaim(raw string) (*[]string, error) {
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &c); err != nil {
		return nil, err
	}
	return c.Network, nil
}

// UnmarshalJSON decodes c after checking that exp, nbf and iat, when
// present, are JSON numbers. RFC 7519 §2 defines a NumericDate as a
// number; the jwt library also takes a string holding one ("exp":
// "1760000000"), which a conforming issuer never writes, so such a token
// is malformed here.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var dates struct {
		Exp json.RawMessage `json:"exp"`
		Nbf json.RawMessage `json:"nbf"`
		Iat json.RawMessage `json:"iat"`
	}
	if err := json.Unmarshal(b, &dates); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
	}{{"exp", dates.Exp}, {"nbf", dates.Nbf}, {"iat", dates.Iat}} {
		if d.raw != nil && !isJSONNumber(d.raw) {
			return fmt.Errorf("%s is %s, not a NumericDate (a JSON number of seconds)", d.name, clip(string(d.raw)))
		}
	}
	type plain Claims // without this method
	return json.Unmarshal(b, (*plain)(c))
}

// isJSONNumber reports whether raw (one JSON value) is a number: it
// starts with a digit or a minus sign; encoding/json has checked the rest.
func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

// MaxAgentLen bounds an agent name.
const MaxAgentLen = 64

// CheckAgent reports whether name may be a token's agent claim: empty, or
// at most MaxAgentLen bytes of letters, digits and . _ - : @ — a name
// printed in the owner's terminal and in the audit log must not carry
// control characters or spaces that could pass for another field.
func CheckAgent(name string) error {
	if len(name) > MaxAgentLen {
		return fmt.Errorf("agent name is %d bytes, over %d", len(name), MaxAgentLen)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:@", r)
		if !ok {
			return fmt.Errorf("agent name %q: only letters, digits and . _ - : @", name)
		}
	}
	return nil
}

// MaxJTILen bounds a jti; the replay cache and revocation list hold them.
const MaxJTILen = 128

// Verified is a token that passed every check that does not depend on the
// moment or on a call: signature, issuer, audience, device, claims shape.
// A *Verified may be shared between goroutines and connections; do not
// modify it.
type Verified struct {
	Issuer  string
	Subject string
	Agent   string // the agent claim; "" when the token has none
	// Holder is whom the token's calls count as (rate limits): "agent:"
	// and its agent, else its subject. Made once, when the token is
	// verified, so that per-call code does not build it.
	Holder    string
	Audience  string
	ID        string // jti; "" when the token has none
	DeviceID  string
	Expires   time.Time
	NotBefore time.Time // zero if absent
	IssuedAt  time.Time // zero if absent
	Once      bool
	Owner     bool // minted by this device for its owner
	Scope     scope.Set
}

// Allow checks that t's scope covers verb on path for t's audience. It
// returns a Forbidden error with reason "scope" when it does not.
func (t *Verified) Allow(verb, path string) error {
	if t.Scope.Allows(verb, t.Audience, path) {
		return nil
	}
	return errs.E("token.scope", errs.Forbidden, errs.Reason(errs.ReasonScope),
		errs.Hint(fmt.Sprintf("this token allows only %s; ask the owner for a token covering %s:%s", t.scopeText(), verb, path)),
		fmt.Errorf("%s %s is not in the token's scope", verb, path))
}

func (t *Verified) scopeText() string {
	if len(t.Scope) == 0 {
		return "nothing (empty scope)"
	}
	return errs.List(t.Scope.Strings(), 300) // never cutting an entry
}

// verified checks the static claims of c and builds a Verified.
func (v *Verifier) verified(c *Claims) (*Verified, error) {
	if len(c.Audience) != 1 {
		return nil, fail(errs.ReasonAudienceMismatch, "the token names %d audiences; it must name exactly one", len(c.Audience))
	}
	aud := c.Audience[0]
	if !ValidAudience(aud) {
		return nil, fail(errs.ReasonAudienceMismatch, "audience %q is not a Carapace service", clip(aud))
	}
	if c.DeviceID != v.device.ID {
		return nil, fail(errs.ReasonWrongDevice, "token is for device %q, this is %q", clip(c.DeviceID), v.device.ID)
	}
	if len(c.ID) > MaxJTILen {
		return nil, fail(errs.ReasonMalformed, "jti longer than %d bytes", MaxJTILen)
	}
	if c.Once && c.ID == "" {
		return nil, fail(errs.ReasonMalformed, "a one-time token (once: true) must carry a jti")
	}
	if err := CheckAgent(c.Agent); err != nil {
		return nil, fail(errs.ReasonMalformed, "%w", err)
	}
	set, err := scope.ParseSet(c.Scope, aud, v.home)
	if err != nil {
		return nil, fail(errs.ReasonMalformed, "%w", err)
	}
	t := &Verified{
		Issuer: c.Issuer, Subject: c.Subject, Agent: c.Agent, Audience: aud, ID: c.ID,
		DeviceID: c.DeviceID, Once: c.Once, Scope: set,
		Owner: c.Issuer == v.ownIssuer,
	}
	t.Holder = t.Subject
	if t.Agent != "" {
		t.Holder = "agent:" + t.Agent
	}
	t.Expires = c.ExpiresAt.Time
	if c.NotBefore != nil {
		t.NotBefore = c.NotBefore.Time
	}
	if c.IssuedAt != nil {
		t.IssuedAt = c.IssuedAt.Time
	}
	return t, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
