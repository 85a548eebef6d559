package token

// An independent JWT encoder for the token matrix: built on crypto/ed25519,
// crypto/ecdsa, crypto/hmac and base64url only, so the verifier is never
// tested against tokens made by the library it uses or by our Minter.

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

type signer func(input []byte) []byte

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// handJWT encodes header and claims and signs "header.claims" with sign.
func handJWT(header, claims map[string]any, sign signer) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	return input + "." + b64(sign([]byte(input)))
}

func signEd(k ed25519.PrivateKey) signer {
	return func(in []byte) []byte { return ed25519.Sign(k, in) }
}

// signES makes a JWS ES256 signature: R and S, 32 bytes each (RFC 7518 3.4).
func signES(k *ecdsa.PrivateKey) signer {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			panic(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func signHS(key []byte) signer {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func signNone(in []byte) []byte { return nil }
