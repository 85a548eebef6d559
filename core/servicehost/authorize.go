package servicehost

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// Authorize re-checks, inside a service, the token the router forwarded
// with a call: signature, issuer, device, expiry, revocation, the service's
// audience, and, when verb is not empty, that the scope covers verb on
// resource (an absolute path). It returns nil or an error the service
// returns as is (-32001 or -32003 with data.reason).
type Authorize = service.Authorize

// AuthorizerConfig says where a service finds what it needs to verify
// tokens, read-only: the device's public key and the revocation list in
// the state directory, and the issuers' JWKS files.
type AuthorizerConfig struct {
	StateDir string
	Home     string // the owner's home, for "~" in issuer tokens' scopes
	Issuers  []token.Issuer
	Audience string // this service's audience, e.g. token.AudCode
}

// NewAuthorizer returns the Authorize of a service. The service never
// holds the device's private key and never consumes one-time tokens (the
// router did, for this very call).
func NewAuthorizer(cfg AuthorizerConfig) (Authorize, error) {
	v, err := ReadOnlyVerifier(cfg)
	if err != nil {
		return nil, err
	}
	if !token.ValidAudience(cfg.Audience) {
		return nil, errs.E("authorizer", errs.Internal, fmt.Errorf("unknown audience %q", cfg.Audience))
	}
	seen := &verified{v: v}
	return func(call *service.Call, verb, resource string) error {
		t, err := seen.verify(call.Caller.Token, cfg.Audience)
		if err != nil {
			return errs.E(call.Method, err)
		}
		if verb == "" {
			return nil
		}
		if err := t.Allow(verb, resource); err != nil {
			return errs.E(call.Method, err)
		}
		return nil
	}, nil
}

// verified remembers the tokens a service has verified, by their raw
// text: the router forwards the same token with every call of a
// connection, and each later call re-runs only the checks that can change
// (token.Verifier.CheckHeldForwarded). At most maxVerified are kept.
type verified struct {
	v  *token.Verifier
	mu sync.Mutex
	m  map[string]token.Held
}

const maxVerified = 1024

func (s *verified) verify(raw, aud string) (*token.Verified, error) {
	s.mu.Lock()
	h, ok := s.m[raw]
	s.mu.Unlock()
	if !ok {
		h = token.Held{Raw: raw}
	}
	checked, err := s.v.CheckHeldForwarded(h, aud)
	if err != nil {
		return nil, err
	}
	if checked != h {
		s.mu.Lock()
		if s.m == nil || len(s.m) >= maxVerified {
			s.m = map[string]token.Held{}
		}
		s.m[raw] = checked
		s.mu.Unlock()
	}
	return checked.T, nil
}

// ReadOnlyVerifier returns a verifier that needs no private key and
// writes nothing: the device's public key and the revocation list from
// the state directory, the issuers' keys (their files followed: re-read
// within token.RefreshInterval of a change). Its replay cache is its own (in
// memory), so it cannot tell a used one-time token: use it with
// VerifyForwarded or Inspect only.
func ReadOnlyVerifier(cfg AuthorizerConfig) (*token.Verifier, error) {
	op := "verifier"
	pub, err := token.LoadPublic(cfg.StateDir)
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, errs.ReasonNoDeviceKey,
			errs.Hint("the router makes the device key at first start in "+cfg.StateDir+"; start the router first, or pass --state-dir"), err)
	}
	keys, _ := token.NewKeyring(cfg.Issuers) // an issuer whose file is bad has no keys: its tokens are refused
	keys.Follow(token.RefreshInterval)       // the owner's key rotations reach the service without a restart
	rev, err := token.OpenRevocations(filepath.Join(cfg.StateDir, "revoked.json"))
	if err != nil {
		return nil, errs.E(op, errs.Unavailable, errs.ReasonNoRevocations, err)
	}
	v, err := token.NewVerifier(token.Config{Device: pub, Issuers: keys, Home: cfg.Home, Revoked: rev})
	if err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	return v, nil
}

// guard wraps h so that no call reaches it without a valid token for the
// service's audience: defence in depth for methods that touch nothing and
// so never call Authorize themselves.
func guard(auth Authorize, h service.Handler) service.Handler {
	return func(ctx context.Context, c *service.Call) (any, error) {
		if err := auth(c, "", ""); err != nil {
			return nil, err
		}
		return h(ctx, c)
	}
}
