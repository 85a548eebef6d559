package token

import (
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// FuzzVerify feeds Verify arbitrary tokens, seeded with good and bad ones.
// It must never panic, every refusal must be Unauthorized with a reason and
// a hint, and anything accepted must be for this device and a known
// audience.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	c := fx.claims()
	ed, es := signEd(fx.edKey), signES(fx.ecKey)
	for _, s := range []string{
		handJWT(hdr("EdDSA", "ed1"), c, ed),
		handJWT(hdr("ES256", "ec1"), c, es),
		handJWT(hdr("none", "ed1"), c, signNone),
		handJWT(hdr("HS256", "ed1"), c, signHS([]byte("k"))),
		handJWT(hdr("EdDSA", "ed1"), with(c, "once", true), ed),
		handJWT(hdr("EdDSA", "ed1"), with(c, "aud", []string{AudFile, AudApp}), ed),
		handJWT(hdr("EdDSA", ""), with(c, "iss", DeviceIssuer(fx.device.ID)), signEd(fx.device.Key)),
		"a.b.c", "..", "", strings.Repeat(".", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := fx.v.Verify(raw, "")
		if err != nil {
			if errs.KindOf(err) != errs.Unauthorized || errs.ReasonOf(err) == "" || errs.HintOf(err) == "" {
				t.Fatalf("refusal without kind, reason or hint: %v", err)
			}
			return
		}
		if tok.DeviceID != fx.device.ID || !ValidAudience(tok.Audience) || len(raw) > MaxTokenSize ||
			!fx.now.Before(tok.Expires.Add(time.Minute)) {
			t.Fatalf("accepted a bad token: %+v", tok)
		}
		fx.v.Inspect(raw)
	})
}

// FuzzParseJWKS checks ParseJWKS never panics and returns keys only with
// a kid.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseJWKS(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
		for kid := range keys {
			if kid == "" {
				t.Fatal("key without kid")
			}
		}
	})
}
