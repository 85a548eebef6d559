// Package token verifies and mints Carapace capability tokens: JWTs signed
// EdDSA (Ed25519) or ES256, naming one audience (a service), this device,
// an expiry and a scope (DESIGN.md, "Capability tokens").
//
// A Verifier decides whether a token is acceptable; the router calls
// Verify at "auth" and on every call, Consume on the call that uses a
// one-time token, and Verified.Allow for the call's verb and resource. A
// service handed the token by the router calls VerifyForwarded and Allow
// again before acting. A Minter makes owner tokens with this device's key.
package token

import (
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// The audiences: one per service, and the router's own.
const (
	AudRouter = "local.gimme.tools"
	AudFile   = "file.local.gimme.tools"
	AudCode   = "code.local.gimme.tools"
	AudShell  = "shell.local.gimme.tools"
	AudApp    = "app.local.gimme.tools"
)

// Audiences lists every audience a token may name.
var Audiences = []string{AudRouter, AudFile, AudCode, AudShell, AudApp}

// AudienceFor returns the audience for a service name ("file", "code",
// "shell", "app"; "router" or "" for the router), or accepts a full
// audience unchanged.
func AudienceFor(service string) (string, error) {
	switch service {
	case "", "router":
		return AudRouter, nil
	case "file":
		return AudFile, nil
	case "code":
		return AudCode, nil
	case "shell":
		return AudShell, nil
	case "app":
		return AudApp, nil
	}
	if ValidAudience(service) {
		return service, nil
	}
	return "", errs.E("token.audience", errs.InvalidParams, errs.Reason("audience_mismatch"),
		errs.Hint("use one of file, code, shell, app (or "+strings.Join(Audiences, ", ")+")"),
		fmt.Errorf("unknown service or audience %q", service))
}

// ServiceFor returns the service name for an audience: "file" for
// file.local.gimme.tools, "router" for local.gimme.tools, "" if unknown.
func ServiceFor(aud string) string {
	if aud == AudRouter {
		return "router"
	}
	if s, ok := strings.CutSuffix(aud, "."+AudRouter); ok && ValidAudience(aud) {
		return s
	}
	return ""
}

// ValidAudience reports whether aud is one of Audiences.
func ValidAudience(aud string) bool {
	for _, a := range Audiences {
		if a == aud {
			return true
		}
	}
	return false
}
