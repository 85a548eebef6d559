package token

import (
	"fmt"

	"github.com/gimme-tools/carapace/core/errs"
)

// hints are the hints of the reasons a token is refused for
// (docs/protocol.md, "Reasons"; docs/tokens.md, "Refusals").
var hints = map[errs.Reason]string{
	errs.ReasonTooLarge:            "the token is over 8 KiB; ask for one with fewer scope entries",
	errs.ReasonMalformed:           "this is not a valid Carapace token; copy the whole token again, or ask for a new one",
	errs.ReasonAlgorithmNotAllowed: "only tokens signed EdDSA (Ed25519) or ES256 are accepted; the issuer must use one of them",
	errs.ReasonUnknownIssuer:       "the token's issuer is not trusted here; add it under issuers in /etc/gimme/carapace.yaml",
	errs.ReasonBadSignature:        "the signature does not match a trusted key: the token was altered or signed with another key (if the issuer rotated keys: carapace config reload)",
	errs.ReasonExpired:             "the token has expired; ask for a new one",
	errs.ReasonNotYetValid:         "the token is not valid yet; check this machine's clock or wait",
	errs.ReasonWrongDevice:         "the token was issued for another device; ask for one for this device (carapace whoami shows its id)",
	errs.ReasonAudienceMismatch:    "the token is for another service; ask for a token for this one",
	errs.ReasonReplayed:            "this one-time token was already used; ask for a new one",
	errs.ReasonRevoked:             "the owner revoked this token; ask for a new one",
	errs.ReasonScope:               "the token's scope does not cover this; ask the owner for a token that does",
}

// fail returns an Unauthorized error with reason and its hint. format and a
// say what exactly was wrong, for logs and for Inspect.
func fail(reason errs.Reason, format string, a ...any) error {
	return errs.E("token.verify", errs.Unauthorized, errs.Reason(reason),
		errs.Hint(hints[reason]), fmt.Errorf(format, a...))
}
