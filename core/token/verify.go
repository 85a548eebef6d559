package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenSize is the largest token accepted, checked before any parsing.
const MaxTokenSize = 8 << 10

// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// The algorithms, fixed here and never taken from a token alone.
const (
	algEdDSA = "EdDSA"
	algES256 = "ES256"
)

// Config configures a Verifier.
type Config struct {
	Device  DevicePublic // this device: its id, and the key owner tokens are signed with
	Issuers *Keyring     // the other trusted issuers; nil for none
	Home    string       // the owner's home, for "~" in scope entries
	Leeway  time.Duration
	// Revoked is the revocation list; nil for none.
	Revoked *Revocations
	// Replay remembers used one-time tokens; nil for an in-memory cache.
	Replay *ReplayCache
	// CacheSize bounds the cache of verified tokens (default 4096; <0 off).
	CacheSize int
	Now       func() time.Time // default time.Now
}

// Verifier checks tokens. It is safe for concurrent use.
type Verifier struct {
	device    DevicePublic
	ownIssuer string
	issuers   *Keyring
	home      string
	leeway    time.Duration
	revoked   *Revocations
	replay    *ReplayCache
	cache     *cache
	now       func() time.Time
	parser    *jwt.Parser
}

// NewVerifier returns a Verifier for cfg.
func NewVerifier(cfg Config) (*Verifier, error) {
	if !validDeviceID(cfg.Device.ID) || len(cfg.Device.Key) != ed25519.PublicKeySize {
		return nil, errors.New("token: verifier needs this device's id and Ed25519 public key")
	}
	v := &Verifier{
		device: cfg.Device, ownIssuer: DeviceIssuer(cfg.Device.ID), issuers: cfg.Issuers,
		home: cfg.Home, leeway: cfg.Leeway, revoked: cfg.Revoked, replay: cfg.Replay, now: cfg.Now,
	}
	if _, known := v.issuers.lookup(v.ownIssuer, ""); known {
		return nil, fmt.Errorf("token: issuer %q is this device's own", v.ownIssuer)
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		v.replay, _ = NewReplayCache("", 0)
	}
	v.cache = newCache(cfg.CacheSize)
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{algEdDSA, algES256}),
		jwt.WithLeeway(v.leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(),
	)
	return v, nil
}

// DeviceID returns this device's id.
func (v *Verifier) DeviceID() string { return v.device.ID }

// Verify checks raw completely for a call to audience aud: size, shape,
// algorithm, issuer and key, signature, exp/nbf/iat, device, audience,
// revocation and, for a one-time token, that it is not used yet. It does
// not consume a one-time token: see Consume. Errors are Unauthorized with
// one of the Reason constants. aud "" accepts any audience (for "auth",
// which learns the audience from the token).
func (v *Verifier) Verify(raw, aud string) (*Verified, error) {
	return v.verify(raw, aud, true, true)
}

// Generation identifies the issuers' keys now loaded; it changes when
// they are reloaded. A Verified obtained at one generation may be
// rechecked with Recheck while the generation stays the same.
func (v *Verifier) Generation() uint64 { return v.issuers.generation() }

// Recheck runs on t, a result of Verify at key generation gen, every
// check of Verify that can change after the signature was checked: expiry
// and not-before against the clock, the audience, revocation and, for a
// one-time token, that it is not used yet. A connection that holds a token
// calls it for each request instead of Verify, skipping the hash and the
// cache lookup of the raw text. It returns stale true, and checks nothing,
// when the keys were reloaded since gen: call Verify again then.
func (v *Verifier) Recheck(t *Verified, gen uint64, aud string) (stale bool, err error) {
	if gen != v.issuers.generation() {
		return true, nil
	}
	return false, v.check(t, aud, true)
}

// RecheckForwarded is Recheck for a service, with VerifyForwarded's rule
// for one-time tokens (the router consumed it for this very call).
func (v *Verifier) RecheckForwarded(t *Verified, gen uint64, aud string) (stale bool, err error) {
	if gen != v.issuers.generation() {
		return true, nil
	}
	return false, v.check(t, aud, false)
}

// Held is a token seen again and again — a connection's token at the
// router, the token forwarded with each call at a service — with the
// result of its last verification and the key generation that result is
// good for.
type Held struct {
	Raw string
	T   *Verified // nil until verified
	Gen uint64
}

// CheckHeld is Verify for a held token: when h was verified at the keys
// now loaded, only Recheck runs; otherwise h.Raw is verified afresh. It
// returns h as it now stands (a caller that keeps it may store it).
func (v *Verifier) CheckHeld(h Held, aud string) (Held, error) {
	return v.checkHeld(h, aud, v.Recheck, v.Verify)
}

// CheckHeldForwarded is CheckHeld with VerifyForwarded's rules, for a
// service.
func (v *Verifier) CheckHeldForwarded(h Held, aud string) (Held, error) {
	return v.checkHeld(h, aud, v.RecheckForwarded, v.VerifyForwarded)
}

func (v *Verifier) checkHeld(h Held, aud string,
	recheck func(*Verified, uint64, string) (bool, error),
	verify func(string, string) (*Verified, error)) (Held, error) {
	if h.T != nil {
		if stale, err := recheck(h.T, h.Gen, aud); !stale {
			return h, err
		}
	}
	gen := v.Generation() // before verifying: a reload meanwhile makes the result stale
	t, err := verify(h.Raw, aud)
	if err != nil {
		return Held{Raw: h.Raw}, err
	}
	return Held{Raw: h.Raw, T: t, Gen: gen}, nil
}

// VerifyForwarded is Verify for a service re-checking the token the router
// forwarded with a call. The router has consumed a one-time token for this
// very call, so a used one-time token is accepted here; everything else is
// checked as in Verify. The router never calls it.
func (v *Verifier) VerifyForwarded(raw, aud string) (*Verified, error) {
	return v.verify(raw, aud, false, true)
}

// Consume records the use of a one-time token; the second Consume of the
// same jti fails with reason "replayed". It is a no-op for other tokens.
// The router calls it once per service call, after Verify and Allow.
func (v *Verifier) Consume(t *Verified) error {
	if !t.Once {
		return nil
	}
	return v.replay.Consume(t.ID, t.Expires.Add(v.leeway))
}

func (v *Verifier) verify(raw, aud string, replay, useCache bool) (*Verified, error) {
	if len(raw) > MaxTokenSize {
		return nil, fail(errs.ReasonTooLarge, "token is %d bytes, over the %d-byte limit", len(raw), MaxTokenSize)
	}
	if strings.Count(raw, ".") != 2 {
		return nil, fail(errs.ReasonMalformed, "a token has three dot-separated parts")
	}
	key := sha256.Sum256([]byte(raw))
	gen := v.issuers.generation()
	t, ok := v.cache.get(key, gen)
	if !ok {
		var err error
		if t, err = v.parse(raw); err != nil {
			return nil, err
		}
		if useCache {
			v.cache.put(key, gen, t)
		}
	}
	if err := v.check(t, aud, replay); err != nil {
		return nil, err
	}
	return t, nil
}

// check makes the checks that depend on the moment and the call; they run
// on every request, cached or not.
func (v *Verifier) check(t *Verified, aud string, replay bool) error {
	now := v.now()
	if !now.Before(t.Expires.Add(v.leeway)) {
		return fail(errs.ReasonExpired, "token expired at %s", t.Expires.UTC().Format(time.RFC3339))
	}
	if !t.NotBefore.IsZero() && now.Add(v.leeway).Before(t.NotBefore) {
		return fail(errs.ReasonNotYetValid, "token is valid from %s", t.NotBefore.UTC().Format(time.RFC3339))
	}
	if aud != "" && t.Audience != aud {
		return fail(errs.ReasonAudienceMismatch, "token is for %s, this call needs %s", t.Audience, aud)
	}
	if t.ID != "" && v.revoked.Revoked(t.ID) {
		return fail(errs.ReasonRevoked, "token %s was revoked", t.ID)
	}
	if replay && t.Once && v.replay.Used(t.ID) {
		return fail(errs.ReasonReplayed, "one-time token %s was already used", t.ID)
	}
	return nil
}

// parse verifies the signature and the claims of raw.
func (v *Verifier) parse(raw string) (*Verified, error) {
	var c Claims
	tok, err := v.parser.ParseWithClaims(raw, &c, v.keyFor)
	if err != nil {
		return nil, classify(tok, err)
	}
	return v.verified(&c)
}

// keyFor picks the verification key from the (still untrusted) issuer and
// kid, and checks the header's algorithm fits the key's type.
func (v *Verifier) keyFor(tok *jwt.Token) (any, error) {
	alg := tok.Method.Alg()
	kid, _ := tok.Header["kid"].(string)
	iss, _ := tok.Claims.GetIssuer()
	if iss == v.ownIssuer {
		if kid != "" && kid != v.device.ID {
			return nil, fail(errs.ReasonBadSignature, "kid %q is not this device's key", clip(kid))
		}
		return v.device.Key, fitAlg(alg, v.device.Key)
	}
	key, known := v.issuers.lookup(iss, kid)
	if !known {
		return nil, fail(errs.ReasonUnknownIssuer, "issuer %q is not configured", clip(iss))
	}
	if key == nil {
		return nil, fail(errs.ReasonBadSignature, "issuer %q has no key with kid %q", clip(iss), clip(kid))
	}
	return key, fitAlg(alg, key)
}

// fitAlg checks that alg is the one algorithm key's type allows.
func fitAlg(alg string, key any) error {
	want := ""
	switch k := key.(type) {
	case ed25519.PublicKey:
		want = algEdDSA
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			want = algES256
		}
	}
	if alg != want || want == "" {
		return fail(errs.ReasonAlgorithmNotAllowed, "algorithm %q does not fit the issuer's key (want %s)", clip(alg), want)
	}
	return nil
}

// classify turns a jwt error into one of ours.
func classify(tok *jwt.Token, err error) error {
	var e *errs.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return fail(errs.ReasonMalformed, "%w", err)
	}
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); alg != algEdDSA && alg != algES256 {
			return fail(errs.ReasonAlgorithmNotAllowed, "algorithm %q is not allowed", clip(alg))
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return fail(errs.ReasonExpired, "%w", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fail(errs.ReasonNotYetValid, "%w", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return fail(errs.ReasonBadSignature, "%w", err)
	}
	return fail(errs.ReasonMalformed, "%w", err)
}
