package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// MaxJWKSSize bounds a JWKS file.
const MaxJWKSSize = 1 << 20

// Issuer is one trusted token issuer, as configured:
// issuers: [{issuer: https://…, jwks_file: /path}].
type Issuer struct {
	Issuer   string `yaml:"issuer" json:"issuer"`
	JWKSFile string `yaml:"jwks_file" json:"jwks_file"`
}

// Keyring holds the public keys of the configured issuers, each selected
// by kid. It is safe for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	issuers []Issuer
	keys    map[string]map[string]crypto.PublicKey // iss → kid → key
	gen     atomic.Uint64                          // bumped on every change

	// Following the files (Follow): the next time to look, and what
	// the files looked like at the last look.
	interval time.Duration
	next     atomic.Int64
	stamps   []fileStamp
}

// NewKeyring loads each issuer's JWKS file. The keyring is usable even
// when err is not nil: err names each file that could not be loaded, and
// those issuers have no keys.
func NewKeyring(issuers []Issuer) (*Keyring, error) {
	k := &Keyring{keys: map[string]map[string]crypto.PublicKey{}}
	return k, k.Set(issuers)
}

// Reload re-reads every issuer's JWKS file. An issuer whose file is bad
// keeps the keys it had; the error says which file and why.
func (k *Keyring) Reload() error {
	k.mu.RLock()
	iss := k.issuers
	k.mu.RUnlock()
	return k.Set(iss)
}

// Set replaces the issuer list (after a config reload) and loads each
// file. An issuer already known whose new file is bad keeps its old keys.
func (k *Keyring) Set(issuers []Issuer) error {
	next := map[string]map[string]crypto.PublicKey{}
	var bad []error
	k.mu.RLock()
	for _, is := range issuers {
		keys, err := LoadJWKS(is.JWKSFile)
		if err != nil {
			bad = append(bad, fmt.Errorf("issuer %s: %w", is.Issuer, err))
			keys = k.keys[is.Issuer]
		}
		if _, dup := next[is.Issuer]; dup {
			bad = append(bad, fmt.Errorf("issuer %s is configured twice", is.Issuer))
		}
		next[is.Issuer] = keys
	}
	k.mu.RUnlock()
	k.mu.Lock()
	k.issuers, k.keys = issuers, next
	k.gen.Add(1)
	k.mu.Unlock()
	if len(bad) > 0 {
		return errs.E("token.keys", errs.Failed, errs.ReasonBadJWKS,
			errs.Hint("fix the JWKS file named above; the issuer keeps the keys it had"), errors.Join(bad...))
	}
	return nil
}

// lookup returns the key for iss and kid; known reports whether iss is
// configured at all.
func (k *Keyring) lookup(iss, kid string) (key crypto.PublicKey, known bool) {
	if k == nil {
		return nil, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	keys, known := k.keys[iss]
	return keys[kid], known
}

func (k *Keyring) generation() uint64 {
	if k == nil {
		return 0
	}
	if k.interval > 0 {
		k.refresh()
	}
	return k.gen.Load()
}

// Follow makes the keyring re-read the issuers' JWKS files when they
// change, looking at most once per interval (on the next verification
// after it). The services' verifiers follow the files, so a key the
// owner rotates in (or out) reaches them without a restart; the router
// reloads on SIGHUP and config.reload. Call it once, before use.
func (k *Keyring) Follow(interval time.Duration) {
	k.mu.Lock()
	k.stamps = statFiles(k.issuers)
	k.mu.Unlock()
	k.interval = interval
	k.next.Store(time.Now().Add(interval).UnixNano())
}

// refresh reloads the files if the interval has passed and any changed.
// One caller at a time looks; the others go on with the keys they have.
func (k *Keyring) refresh() {
	now := time.Now().UnixNano()
	next := k.next.Load()
	if now < next || !k.next.CompareAndSwap(next, now+int64(k.interval)) {
		return
	}
	k.mu.RLock()
	iss, old := k.issuers, k.stamps
	k.mu.RUnlock()
	stamps := statFiles(iss)
	if slices.Equal(stamps, old) {
		return
	}
	k.Set(iss) // a bad file keeps its issuer's keys, as Reload does
	k.mu.Lock()
	k.stamps = stamps
	k.mu.Unlock()
}

// statFiles returns what each issuer's file looks like now.
func statFiles(issuers []Issuer) []fileStamp {
	out := make([]fileStamp, len(issuers))
	for i, is := range issuers {
		if fi, err := os.Stat(is.JWKSFile); err == nil {
			out[i] = fileStamp{fi.ModTime(), fi.Size()}
		}
	}
	return out
}

// LoadJWKS reads a JWKS file (RFC 7517) and returns its signing keys by
// kid. See ParseJWKS.
func LoadJWKS(path string) (map[string]crypto.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxJWKSSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxJWKSSize)
	}
	keys, err := ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
}

// ParseJWKS decodes a JWK set and returns its Ed25519 (kty OKP, crv
// Ed25519) and P-256 (kty EC, crv P-256) keys by kid. Keys of other types
// are skipped (a set may hold keys for other uses); a key of a supported
// type that is invalid, has no kid, a duplicate kid, "use" other than
// "sig", an "alg" that does not fit it, or private material, is an error,
// and so is a set with no usable key.
func ParseJWKS(b []byte) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	out := map[string]crypto.PublicKey{}
	for i, j := range set.Keys {
		key, err := j.public()
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, j.Kid, err)
		}
		if key == nil {
			continue
		}
		if _, dup := out[j.Kid]; dup {
			return nil, fmt.Errorf("key %d: kid %q appears twice", i, j.Kid)
		}
		out[j.Kid] = key
	}
	if len(out) == 0 {
		return nil, errors.New("no Ed25519 or P-256 signing key in the set")
	}
	return out, nil
}

// public returns the key j describes, nil for a type we do not use.
func (j jwk) public() (crypto.PublicKey, error) {
	var alg string
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		alg = "EdDSA"
	case j.Kty == "EC" && j.Crv == "P-256":
		alg = "ES256"
	default:
		return nil, nil
	}
	switch {
	case j.Kid == "":
		return nil, errors.New("no kid")
	case j.Use != "" && j.Use != "sig":
		return nil, fmt.Errorf("use is %q, not sig", j.Use)
	case j.Alg != "" && j.Alg != alg:
		return nil, fmt.Errorf("alg %q does not fit a %s key", j.Alg, j.Crv)
	case j.D != "":
		return nil, errors.New("holds a private key; pin only public keys")
	}
	if alg == "EdDSA" {
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("x is not a 32-byte base64url Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return ecKey(j.X, j.Y)
}

func ecKey(xs, ys string) (*ecdsa.PublicKey, error) {
	x, err1 := base64.RawURLEncoding.DecodeString(xs)
	y, err2 := base64.RawURLEncoding.DecodeString(ys)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32-byte base64url coordinates")
	}
	// The parser refuses a point that is not on the curve.
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("not a point on P-256: %w", err)
	}
	return k, nil
}
