package token

import (
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
type Claims struct {
	jwt.RegisteredClaims
	Scope    []string `json:"scope,omitempty"`
	DeviceID string   `json:"device_id"`
	Once     bool     `json:"once,omitempty"`
}

// MaxJTILen bounds a jti; the replay cache and revocation list hold them.
const MaxJTILen = 128

// Verified is a token that passed every check that does not depend on the
// moment or on a call: signature, issuer, audience, device, claims shape.
// A *Verified may be shared between goroutines and connections; do not
// modify it.
type Verified struct {
	Issuer    string
	Subject   string
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
	return errs.E("token.scope", errs.Forbidden, errs.Reason(ReasonScope),
		errs.Hint(fmt.Sprintf("this token allows only %s; ask the owner for a token covering %s:%s", t.scopeText(), verb, path)),
		fmt.Errorf("%s %s is not in the token's scope", verb, path))
}

func (t *Verified) scopeText() string {
	if len(t.Scope) == 0 {
		return "nothing (empty scope)"
	}
	s := strings.Join(t.Scope.Strings(), ", ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// verified checks the static claims of c and builds a Verified.
func (v *Verifier) verified(c *Claims) (*Verified, error) {
	if len(c.Audience) != 1 {
		return nil, fail(ReasonAudience, "the token names %d audiences; it must name exactly one", len(c.Audience))
	}
	aud := c.Audience[0]
	if !ValidAudience(aud) {
		return nil, fail(ReasonAudience, "audience %q is not a Carapace service", clip(aud))
	}
	if c.DeviceID != v.device.ID {
		return nil, fail(ReasonWrongDevice, "token is for device %q, this is %q", clip(c.DeviceID), v.device.ID)
	}
	if len(c.ID) > MaxJTILen {
		return nil, fail(ReasonMalformed, "jti longer than %d bytes", MaxJTILen)
	}
	if c.Once && c.ID == "" {
		return nil, fail(ReasonMalformed, "a one-time token (once: true) must carry a jti")
	}
	set, err := scope.ParseSet(c.Scope, aud, v.home)
	if err != nil {
		return nil, fail(ReasonMalformed, "%w", err)
	}
	t := &Verified{
		Issuer: c.Issuer, Subject: c.Subject, Audience: aud, ID: c.ID,
		DeviceID: c.DeviceID, Once: c.Once, Scope: set,
		Owner: c.Issuer == v.ownIssuer,
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
