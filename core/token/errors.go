package token

import (
	"fmt"

	"github.com/gimme-tools/carapace/core/errs"
)

// The reasons a token is refused, as they appear in an error's data.reason
// and in the audit log.
const (
	ReasonTooLarge      = "too_large"
	ReasonMalformed     = "malformed"
	ReasonAlgorithm     = "algorithm_not_allowed"
	ReasonUnknownIssuer = "unknown_issuer"
	ReasonBadSignature  = "bad_signature"
	ReasonExpired       = "expired"
	ReasonNotYetValid   = "not_yet_valid"
	ReasonWrongDevice   = "wrong_device"
	ReasonAudience      = "audience_mismatch"
	ReasonReplayed      = "replayed"
	ReasonRevoked       = "revoked"
	ReasonScope         = "scope"
)

var hints = map[string]string{
	ReasonTooLarge:      "the token is over 8 KiB; ask for one with fewer scope entries",
	ReasonMalformed:     "this is not a valid Carapace token; copy the whole token again, or ask for a new one",
	ReasonAlgorithm:     "only tokens signed EdDSA (Ed25519) or ES256 are accepted; the issuer must use one of them",
	ReasonUnknownIssuer: "the token's issuer is not trusted here; add it under issuers in /etc/gimme/carapace.yaml",
	ReasonBadSignature:  "the signature does not match a trusted key: the token was altered or signed with another key (if the issuer rotated keys: carapace config reload)",
	ReasonExpired:       "the token has expired; ask for a new one",
	ReasonNotYetValid:   "the token is not valid yet; check this machine's clock or wait",
	ReasonWrongDevice:   "the token was issued for another device; ask for one for this device (carapace whoami shows its id)",
	ReasonAudience:      "the token is for another service; ask for a token for this one",
	ReasonReplayed:      "this one-time token was already used; ask for a new one",
	ReasonRevoked:       "the owner revoked this token; ask for a new one",
	ReasonScope:         "the token's scope does not cover this; ask the owner for a token that does",
}

// fail returns an Unauthorized error with reason and its hint. format and a
// say what exactly was wrong, for logs and for Inspect.
func fail(reason, format string, a ...any) error {
	return errs.E("token.verify", errs.Unauthorized, errs.Reason(reason),
		errs.Hint(hints[reason]), fmt.Errorf(format, a...))
}
