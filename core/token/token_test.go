package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

const (
	testIssuer = "https://issuer.example"
	testHome   = "/home/ann"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// fixture is a device, an issuer with an Ed25519 and a P-256 key, and a
// verifier trusting both, with a clock the test moves.
type fixture struct {
	dir     string
	device  DeviceKey
	edKey   ed25519.PrivateKey
	ecKey   *ecdsa.PrivateKey
	jwks    string
	now     time.Time
	keys    *Keyring
	revoked *Revocations
	replay  *ReplayCache
	v       *Verifier
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), now: t0}
	var err error
	if f.device, err = NewDeviceKey(); err != nil {
		t.Fatal(err)
	}
	_, f.edKey, _ = ed25519.GenerateKey(rand.Reader)
	f.ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.jwks = filepath.Join(f.dir, "issuer.jwks")
	writeJWKS(t, f.jwks, map[string]any{"ed1": f.edKey.Public(), "ec1": &f.ecKey.PublicKey})
	if f.keys, err = NewKeyring([]Issuer{{Issuer: testIssuer, JWKSFile: f.jwks}}); err != nil {
		t.Fatal(err)
	}
	if f.revoked, err = OpenRevocations(filepath.Join(f.dir, "revoked.json")); err != nil {
		t.Fatal(err)
	}
	f.revoked.now = f.clock
	if f.replay, err = newReplayCache(filepath.Join(f.dir, "replay.log"), 0, f.clock); err != nil {
		t.Fatal(err)
	}
	f.v, err = NewVerifier(Config{
		Device: f.device.Public(), Issuers: f.keys, Home: testHome,
		Revoked: f.revoked, Replay: f.replay, Now: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time { return f.now }

func writeJWKS(t testing.TB, path string, keys map[string]any) {
	t.Helper()
	var set []map[string]any
	for kid, k := range keys {
		switch k := k.(type) {
		case ed25519.PublicKey:
			set = append(set, map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(k), "use": "sig"})
		case *ecdsa.PublicKey:
			b, _ := k.Bytes()
			set = append(set, map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "x": b64(b[1:33]), "y": b64(b[33:]), "alg": "ES256"})
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": set})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// claims returns a good issuer token's claims.
func (f *fixture) claims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "agent", "aud": AudFile,
		"scope": []string{"GET:~/Documents/*"}, "device_id": f.device.ID,
		"exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix(), "nbf": t0.Unix(), "jti": "jti-1",
	}
}

func hdr(alg, kid string) map[string]any {
	h := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	return h
}

func with(m map[string]any, kv ...any) map[string]any {
	m = maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func wantErr(t *testing.T, name string, err error, kind errs.Kind, reason errs.Reason) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want %v/%s", name, kind, reason)
		return
	}
	if errs.KindOf(err) != kind || errs.ReasonOf(err) != reason {
		t.Errorf("%s: got %v/%s (%v), want %v/%s", name, errs.KindOf(err), errs.ReasonOf(err), err, kind, reason)
	}
	if errs.HintOf(err) == "" {
		t.Errorf("%s: no hint in %v", name, err)
	}
}

func TestTokenMatrix(t *testing.T) {
	f := newFixture(t)
	c := f.claims()
	ed, es := signEd(f.edKey), signES(f.ecKey)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	edPub := []byte(f.edKey.Public().(ed25519.PublicKey))
	good := handJWT(hdr("EdDSA", "ed1"), c, ed)
	flipped := []byte(good)
	if flipped[len(flipped)-5] = 'A'; good[len(good)-5] == 'A' {
		flipped[len(flipped)-5] = 'B'
	}
	own := with(c, "iss", DeviceIssuer(f.device.ID))

	cases := []struct {
		name   string
		raw    string
		aud    string
		kind   errs.Kind
		reason errs.Reason // "" means accepted
	}{
		{"good EdDSA", good, AudFile, 0, ""},
		{"good ES256", handJWT(hdr("ES256", "ec1"), c, es), AudFile, 0, ""},
		{"good owner token", handJWT(hdr("EdDSA", f.device.ID), own, signEd(f.device.Key)), AudFile, 0, ""},
		{"owner token without kid", handJWT(hdr("EdDSA", ""), own, signEd(f.device.Key)), AudFile, 0, ""},
		{"any audience at auth", good, "", 0, ""},
		{"nbf within leeway", handJWT(hdr("EdDSA", "ed1"), with(c, "nbf", t0.Add(10*time.Second).Unix()), ed), AudFile, 0, ""},
		{"alg none", handJWT(hdr("none", "ed1"), c, signNone), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"alg None", handJWT(hdr("None", "ed1"), c, signNone), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"HS256 with the public key", handJWT(hdr("HS256", "ed1"), c, signHS(edPub)), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"HS256 with the JWKS x", handJWT(hdr("HS256", "ed1"), c, signHS([]byte(b64(edPub)))), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"HS256 owner token", handJWT(hdr("HS256", ""), own, signHS(f.device.Public().Key)), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"ES256 header on an Ed25519 key", handJWT(hdr("ES256", "ed1"), c, es), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"EdDSA header on a P-256 key", handJWT(hdr("EdDSA", "ec1"), c, ed), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"RS256", handJWT(hdr("RS256", "ed1"), c, ed), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"ES256 owner token", handJWT(hdr("ES256", ""), own, es), AudFile, errs.Unauthorized, errs.ReasonAlgorithmNotAllowed},
		{"wrong kid", handJWT(hdr("EdDSA", "nope"), c, ed), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"no kid", handJWT(hdr("EdDSA", ""), c, ed), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"owner token, other kid", handJWT(hdr("EdDSA", "ed1"), own, signEd(f.device.Key)), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"bad signature", string(flipped), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"signed by another key", handJWT(hdr("EdDSA", "ed1"), c, signEd(otherEd)), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"owner claim, issuer key", handJWT(hdr("EdDSA", ""), own, ed), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"issuer claim, device key", handJWT(hdr("EdDSA", "ed1"), c, signEd(f.device.Key)), AudFile, errs.Unauthorized, errs.ReasonBadSignature},
		{"expired", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", t0.Add(-time.Minute).Unix()), ed), AudFile, errs.Unauthorized, errs.ReasonExpired},
		{"no exp", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", nil), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"nbf in the future", handJWT(hdr("EdDSA", "ed1"), with(c, "nbf", t0.Add(time.Hour).Unix()), ed), AudFile, errs.Unauthorized, errs.ReasonNotYetValid},
		{"iat in the future", handJWT(hdr("EdDSA", "ed1"), with(c, "iat", t0.Add(time.Hour).Unix()), ed), AudFile, errs.Unauthorized, errs.ReasonNotYetValid},
		{"wrong device", handJWT(hdr("EdDSA", "ed1"), with(c, "device_id", "device-other"), ed), AudFile, errs.Unauthorized, errs.ReasonWrongDevice},
		{"no device", handJWT(hdr("EdDSA", "ed1"), with(c, "device_id", nil), ed), AudFile, errs.Unauthorized, errs.ReasonWrongDevice},
		{"file token on code", good, AudCode, errs.Unauthorized, errs.ReasonAudienceMismatch},
		{"file token on the router", good, AudRouter, errs.Unauthorized, errs.ReasonAudienceMismatch},
		{"unknown audience", handJWT(hdr("EdDSA", "ed1"), with(c, "aud", "evil.example"), ed), "", errs.Unauthorized, errs.ReasonAudienceMismatch},
		{"two audiences", handJWT(hdr("EdDSA", "ed1"), with(c, "aud", []string{AudFile, AudCode}), ed), AudFile, errs.Unauthorized, errs.ReasonAudienceMismatch},
		{"unknown issuer", handJWT(hdr("EdDSA", "ed1"), with(c, "iss", "https://evil.example"), ed), AudFile, errs.Unauthorized, errs.ReasonUnknownIssuer},
		{"no issuer", handJWT(hdr("EdDSA", "ed1"), with(c, "iss", nil), ed), AudFile, errs.Unauthorized, errs.ReasonUnknownIssuer},
		{"100,000 dots", strings.Repeat(".", 100000), AudFile, errs.Unauthorized, errs.ReasonTooLarge},
		{"1 MiB", strings.Repeat("a", 1<<20), AudFile, errs.Unauthorized, errs.ReasonTooLarge},
		{"8 KiB + 1", good + "." + strings.Repeat("a", MaxTokenSize), AudFile, errs.Unauthorized, errs.ReasonTooLarge},
		{"two parts", "a.b", AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"four parts", good + ".x", AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"empty", "", AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"not base64", "!!.!!.!!", AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"padded base64", strings.Replace(good, ".", "=.", 1), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"once without jti", handJWT(hdr("EdDSA", "ed1"), with(c, "once", true, "jti", nil), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"bad scope entry", handJWT(hdr("EdDSA", "ed1"), with(c, "scope", []string{"GET:~/../etc/*"}), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"scope not a list", handJWT(hdr("EdDSA", "ed1"), with(c, "scope", "GET:/*"), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		// RFC 7519 §2: a NumericDate is a JSON number, never a string.
		{"exp a string", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"exp a far-future string", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", "99999999999"), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"nbf a string", handJWT(hdr("EdDSA", "ed1"), with(c, "nbf", strconv.FormatInt(t0.Unix(), 10)), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"iat a string", handJWT(hdr("EdDSA", "ed1"), with(c, "iat", strconv.FormatInt(t0.Unix(), 10)), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"exp true", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", true), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"exp a list", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", []int64{t0.Add(time.Hour).Unix()}), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"exp fractional", handJWT(hdr("EdDSA", "ed1"), with(c, "exp", float64(t0.Add(time.Hour).Unix())+0.5), ed), AudFile, 0, ""},
		{"agent claim", handJWT(hdr("EdDSA", "ed1"), with(c, "agent", "claude"), ed), AudFile, 0, ""},
		{"agent with a newline", handJWT(hdr("EdDSA", "ed1"), with(c, "agent", "claude\nowner"), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
		{"agent too long", handJWT(hdr("EdDSA", "ed1"), with(c, "agent", strings.Repeat("a", MaxAgentLen+1)), ed), AudFile, errs.Unauthorized, errs.ReasonMalformed},
	}
	for _, tt := range cases {
		_, err := f.v.Verify(tt.raw, tt.aud)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tt.name, err)
			}
			continue
		}
		wantErr(t, tt.name, err, tt.kind, tt.reason)
	}
}

func TestScopeChecks(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	tok, err := f.v.Verify(raw, AudFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Allow("GET", "/home/ann/Documents/a.txt"); err != nil {
		t.Errorf("in-scope read refused: %v", err)
	}
	for _, c := range []struct{ verb, path string }{
		{"GET", "/home/ann/Documents-old/a.txt"},
		{"GET", "/home/ann/Documents/../.ssh/id_ed25519"},
		{"GET", "/home/ann/.ssh/id_ed25519"},
		{"PUT", "/home/ann/Documents/a.txt"},
		{"DELETE", "/home/ann/Documents/a.txt"},
		{"POST", "/home/ann/Documents"},
	} {
		wantErr(t, c.verb+" "+c.path, tok.Allow(c.verb, c.path), errs.Forbidden, errs.ReasonScope)
	}
}

func TestOnceToken(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), with(f.claims(), "once", true, "jti", "once-1"), signEd(f.edKey))
	tok, err := f.v.Verify(raw, AudFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Fatalf("verifying twice (auth, then the call) before use: %v", err)
	}
	if err := f.v.Consume(tok); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := f.v.VerifyForwarded(raw, AudFile); err != nil {
		t.Errorf("a service re-verifying the call's token: %v", err)
	}
	_, err = f.v.Verify(raw, AudFile)
	wantErr(t, "verify after use", err, errs.Unauthorized, errs.ReasonReplayed)
	wantErr(t, "second use", f.v.Consume(tok), errs.Unauthorized, errs.ReasonReplayed)

	// A restart remembers the use.
	f.replay.Close()
	r2, err := newReplayCache(filepath.Join(f.dir, "replay.log"), 0, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := NewVerifier(Config{Device: f.device.Public(), Issuers: f.keys, Home: testHome, Replay: r2, Now: f.clock})
	_, err = v2.Verify(raw, AudFile)
	wantErr(t, "verify after restart", err, errs.Unauthorized, errs.ReasonReplayed)

	// After expiry it is forgotten, and refused as expired anyway.
	f.now = t0.Add(2 * time.Hour)
	if r2.Used("once-1") {
		t.Error("replay cache still holds an expired jti")
	}
	_, err = v2.Verify(raw, AudFile)
	wantErr(t, "verify after expiry", err, errs.Unauthorized, errs.ReasonExpired)

	// A plain token can be used any number of times.
	f.now = t0
	plain, _ := f.v.Verify(handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey)), "")
	for i := 0; i < 3; i++ {
		if err := f.v.Consume(plain); err != nil {
			t.Fatalf("plain token use %d: %v", i, err)
		}
	}
}

func TestRevocation(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Fatal(err)
	}
	// A second process (a service) watching the same file.
	other, err := OpenRevocations(filepath.Join(f.dir, "revoked.json"))
	if err != nil {
		t.Fatal(err)
	}
	other.now = f.clock
	if err := f.revoked.Revoke("jti-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = f.v.Verify(raw, AudFile) // cached, still refused
	wantErr(t, "revoked", err, errs.Unauthorized, errs.ReasonRevoked)

	f.now = t0.Add(2 * RefreshInterval)
	if !other.Revoked("jti-1") {
		t.Error("another process did not see the revocation")
	}
	re, err := OpenRevocations(filepath.Join(f.dir, "revoked.json"))
	if err != nil {
		t.Fatal(err)
	}
	re.now = f.clock
	if !re.Revoked("jti-1") || re.Revoked("jti-2") {
		t.Error("revocation list did not survive a reopen")
	}
	fi, _ := os.Stat(filepath.Join(f.dir, "revoked.json"))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("revocation list mode %v", fi.Mode().Perm())
	}
	// Removing the file does not un-revoke.
	os.Remove(filepath.Join(f.dir, "revoked.json"))
	f.now = t0.Add(4 * RefreshInterval)
	if !other.Revoked("jti-1") {
		t.Error("removing the file un-revoked a token")
	}
	wantErr(t, "empty jti", f.revoked.Revoke("", time.Time{}), errs.InvalidParams, "malformed")
}

func TestCacheStillChecksTime(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), with(f.claims(), "nbf", t0.Add(time.Minute).Unix(), "iat", nil), signEd(f.edKey))
	_, err := f.v.Verify(raw, AudFile)
	wantErr(t, "before nbf", err, errs.Unauthorized, errs.ReasonNotYetValid)
	f.now = t0.Add(2 * time.Minute)
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Fatal(err)
	}
	if len(f.v.cache.m) != 1 {
		t.Fatalf("cache holds %d tokens, want 1", len(f.v.cache.m))
	}
	_, err = f.v.Verify(raw, AudCode)
	wantErr(t, "cached, wrong audience", err, errs.Unauthorized, errs.ReasonAudienceMismatch)
	f.now = t0.Add(time.Hour + DefaultLeeway)
	_, err = f.v.Verify(raw, AudFile)
	wantErr(t, "cached, expired", err, errs.Unauthorized, errs.ReasonExpired)
}

func TestKeyringReload(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Fatal(err)
	}
	// A bad file keeps the old keys and says why.
	os.WriteFile(f.jwks, []byte("{not json"), 0o644)
	err := f.keys.Reload()
	if err == nil || !strings.Contains(err.Error(), f.jwks) {
		t.Errorf("Reload of a bad file: %v, want an error naming %s", err, f.jwks)
	}
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Errorf("old keys lost after a bad reload: %v", err)
	}
	// The issuer rotates: the old kid is gone, even for a cached token.
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	writeJWKS(t, f.jwks, map[string]any{"ed2": newKey.Public()})
	if err := f.keys.Reload(); err != nil {
		t.Fatal(err)
	}
	_, err = f.v.Verify(raw, AudFile)
	wantErr(t, "rotated-out key", err, errs.Unauthorized, errs.ReasonBadSignature)
	if _, err := f.v.Verify(handJWT(hdr("EdDSA", "ed2"), f.claims(), signEd(newKey)), AudFile); err != nil {
		t.Errorf("new key: %v", err)
	}
	// Dropping the issuer from the config.
	f.keys.Set(nil)
	_, err = f.v.Verify(raw, AudFile)
	wantErr(t, "issuer removed", err, errs.Unauthorized, errs.ReasonUnknownIssuer)
}

func TestParseJWKS(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x := b64(ed.Public().(ed25519.PublicKey))
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `"}]}`, true},
		{`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `"}]}`, true},
		{`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB"}]}`, false},
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}]}`, false},
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `","d":"` + x + `"}]}`, false},
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `","alg":"ES256"}]}`, false},
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `","use":"enc"}]}`, false},
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"AAAA"}]}`, false},
		{`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"` + x + `","y":"` + x + `"}]}`, false}, // not on the curve
		{`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + x + `"}]}`, false},
		{`[]`, false},
	} {
		_, err := ParseJWKS([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("ParseJWKS(%s) error = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestAudienceFor(t *testing.T) {
	for in, want := range map[string]string{"file": AudFile, "code": AudCode, "shell": AudShell, "app": AudApp, "router": AudRouter, "": AudRouter, AudApp: AudApp} {
		if got, err := AudienceFor(in); got != want || err != nil {
			t.Errorf("AudienceFor(%q) = %q, %v", in, got, err)
		}
		if ServiceFor(want) == "" {
			t.Errorf("ServiceFor(%q) empty", want)
		}
	}
	for _, s := range service.Registry {
		if aud, _ := AudienceFor(s.Name); aud != s.Audience || ServiceFor(aud) != s.Name {
			t.Errorf("%s: audience %q, service of it %q", s.Name, aud, ServiceFor(aud))
		}
	}
	if _, err := AudienceFor("evil"); err == nil {
		t.Error("AudienceFor(evil) succeeded")
	}
	if ServiceFor("evil.local.gimme.tools") != "" {
		t.Error("ServiceFor accepted an unknown audience")
	}
}

// TestRecheck: a held token is rechecked on every call for everything that
// can change after its signature was checked, and goes stale (so the
// caller verifies afresh) when the issuers' keys are reloaded.
func TestRecheck(t *testing.T) {
	f := newFixture(t)
	raw := handJWT(hdr("EdDSA", "ed1"), with(f.claims(), "jti", "held-1"), signEd(f.edKey))
	gen := f.v.Generation()
	held, err := f.v.Verify(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	if stale, err := f.v.Recheck(held, gen, AudFile); stale || err != nil {
		t.Fatalf("fresh held token: stale %v, %v", stale, err)
	}
	_, err = f.v.Recheck(held, gen, AudCode)
	wantErr(t, "held, wrong audience", err, errs.Unauthorized, errs.ReasonAudienceMismatch)
	if err := f.revoked.Revoke("held-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = f.v.Recheck(held, gen, AudFile)
	wantErr(t, "held, revoked", err, errs.Unauthorized, errs.ReasonRevoked)
	f.now = t0.Add(time.Hour + DefaultLeeway)
	_, err = f.v.Recheck(held, gen, AudFile)
	wantErr(t, "held, expired", err, errs.Unauthorized, errs.ReasonExpired)
	f.now = t0
	// One-time: usable until consumed, then replayed.
	once := handJWT(hdr("EdDSA", "ed1"), with(f.claims(), "jti", "once-1", "once", true), signEd(f.edKey))
	ot, err := f.v.Verify(once, AudFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.Consume(ot); err != nil {
		t.Fatal(err)
	}
	_, err = f.v.Recheck(ot, gen, AudFile)
	wantErr(t, "held one-time token, used", err, errs.Unauthorized, errs.ReasonReplayed)
	// A reload makes every held result stale, whatever it says.
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	writeJWKS(t, f.jwks, map[string]any{"ed2": newKey.Public()})
	if err := f.keys.Reload(); err != nil {
		t.Fatal(err)
	}
	if stale, err := f.v.Recheck(held, gen, AudFile); !stale || err != nil {
		t.Errorf("after a reload: stale %v, %v; want stale", stale, err)
	}
}

// TestKeyringFollow: a followed keyring picks up a rotated JWKS file on
// its own, and a cached token signed with the rotated-out key is refused.
func TestKeyringFollow(t *testing.T) {
	f := newFixture(t)
	f.keys.Follow(time.Millisecond)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	if _, err := f.v.Verify(raw, AudFile); err != nil {
		t.Fatal(err)
	}
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	writeJWKS(t, f.jwks, map[string]any{"ed2": newKey.Public()})
	later := time.Now().Add(time.Minute) // a different mtime, whatever the clock's resolution
	os.Chtimes(f.jwks, later, later)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := f.v.Verify(raw, AudFile)
		if errs.ReasonOf(err) == errs.ReasonBadSignature {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotated-out key still accepted: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := f.v.Verify(handJWT(hdr("EdDSA", "ed2"), f.claims(), signEd(newKey)), AudFile); err != nil {
		t.Errorf("new key after following: %v", err)
	}
}
