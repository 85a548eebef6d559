package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
)

// BenchmarkVerifyFirstEdDSA measures a first verification (signature and
// claims) of an Ed25519 token: what "auth" costs.
func BenchmarkVerifyFirstEdDSA(b *testing.B) {
	benchVerify(b, "EdDSA", -1)
}

// BenchmarkVerifyFirstES256 is the same for a P-256 token.
func BenchmarkVerifyFirstES256(b *testing.B) {
	benchVerify(b, "ES256", -1)
}

// BenchmarkVerifyCached measures a verification served by the cache: what
// each call with an already verified token costs.
func BenchmarkVerifyCached(b *testing.B) {
	benchVerify(b, "EdDSA", 0)
}

func benchVerify(b *testing.B, alg string, cacheSize int) {
	f := newFixture(b)
	v, err := NewVerifier(Config{Device: f.device.Public(), Issuers: f.keys, Home: testHome, Revoked: f.revoked, Now: f.clock, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	if alg == "ES256" {
		raw = handJWT(hdr("ES256", "ec1"), f.claims(), signES(f.ecKey))
	}
	if _, err := v.Verify(raw, AudFile); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(raw, AudFile); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllow measures the scope check a call makes after Verify.
func BenchmarkAllow(b *testing.B) {
	f := newFixture(b)
	t, err := f.v.Verify(handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey)), AudFile)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := t.Allow("GET", "/home/ann/Documents/reports/2026/q3.txt"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEd25519Verify is the bare signature check, the floor under
// BenchmarkVerifyFirstEdDSA: compare the two to see what parsing adds.
func BenchmarkEd25519Verify(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 300)
	sig := ed25519.Sign(priv, msg)
	pub := priv.Public().(ed25519.PublicKey)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad")
		}
	}
}

// BenchmarkRecheck measures what each call with a token its connection
// holds costs at the router: the checks that can change after auth.
func BenchmarkRecheck(b *testing.B) {
	f := newFixture(b)
	raw := handJWT(hdr("EdDSA", "ed1"), f.claims(), signEd(f.edKey))
	gen := f.v.Generation()
	t, err := f.v.Verify(raw, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if stale, err := f.v.Recheck(t, gen, AudFile); stale || err != nil {
			b.Fatal(stale, err)
		}
	}
}
