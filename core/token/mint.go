package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/golang-jwt/jwt/v5"
)

// Minter makes owner tokens signed with this device's key (EdDSA). It does
// not decide what the owner may have: the router checks the audience, the
// scope (scope.Set.Within) and the TTL against the configuration first.
type Minter struct {
	key  DeviceKey
	home string
	now  func() time.Time
}

// NewMinter returns a Minter signing with key; home expands "~" in scope
// entries, which are stored in their canonical long form.
func NewMinter(key DeviceKey, home string) *Minter {
	return &Minter{key: key, home: home, now: time.Now}
}

// Mint returns a signed token for aud (a full audience) with the given
// scope entries, valid from now for ttl, and its claims. once marks a
// one-time token. subject is the principal the holder acts for ("owner").
// Every token gets a random jti, so any token can be revoked.
func (m *Minter) Mint(aud string, scopes []string, ttl time.Duration, once bool, subject string) (string, Claims, error) {
	return m.MintNamed(aud, scopes, ttl, once, subject, "")
}

// MintNamed is Mint with the agent claim: the name of the program the
// owner hands the token to ("claude"), shown in approvals and in every
// audit record of its calls. Empty leaves the claim out.
func (m *Minter) MintNamed(aud string, scopes []string, ttl time.Duration, once bool, subject, agent string) (string, Claims, error) {
	return m.MintNarrowed(aud, scopes, ttl, once, subject, agent, nil)
}

// MintNarrowed is MintNamed with the network claim (Claims.Network): nil
// leaves it out, an empty list means no network.
func (m *Minter) MintNarrowed(aud string, scopes []string, ttl time.Duration, once bool, subject, agent string, network *[]string) (string, Claims, error) {
	bad := func(reason errs.Reason, hint string, err error) (string, Claims, error) {
		return "", Claims{}, errs.E("token.mint", errs.InvalidParams, reason, errs.Hint(hint), err)
	}
	if !ValidAudience(aud) {
		return bad(errs.ReasonAudienceMismatch, "use one of "+strings.Join(service.Names(), ", "), fmt.Errorf("unknown audience %q", aud))
	}
	if err := CheckAgent(agent); err != nil {
		return bad(errs.ReasonBadName, "give a short name such as claude or codex: letters, digits, '.', '_', '-', ':', '@', at most 64", err)
	}
	if ttl < time.Second {
		return bad(errs.ReasonBadTTL, "give a TTL of at least one second, e.g. --ttl 10m", fmt.Errorf("ttl %v", ttl))
	}
	set, err := scope.ParseSet(scopes, aud, m.home)
	if err != nil {
		return bad(errs.ReasonScope, "write scope entries as VERB:path, e.g. GET:~/Documents/*", err)
	}
	jti, err := newJTI()
	if err != nil {
		return "", Claims{}, err
	}
	now := m.now().Truncate(time.Second)
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: DeviceIssuer(m.key.ID), Subject: subject, Audience: jwt.ClaimStrings{aud},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: jti,
		},
		Scope: set.Strings(), DeviceID: m.key.ID, Once: once, Agent: agent, Network: network,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = m.key.ID
	s, err := t.SignedString(m.key.Key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sign token: %w", err)
	}
	if len(s) > MaxTokenSize {
		return bad(errs.ReasonTooLarge, "use fewer scope entries", errors.New("token over 8 KiB"))
	}
	return s, c, nil
}

func newJTI() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("make jti: %w", err)
	}
	// Hex, not base64: a jti never starts with "-", so `carapace token
	// revoke JTI` never reads it as a flag.
	return hex.EncodeToString(b[:]), nil
}
