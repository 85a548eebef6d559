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
	"github.com/gimme-tools/carapace/core/service"
)

// The audiences: the router's own, and one per service (each service's
// is written in its service.Spec; a test ties these names to it).
const (
	AudRouter = "local.gimme.tools"
	AudFile   = "file.local.gimme.tools"
	AudCode   = "code.local.gimme.tools"
	AudShell  = "shell.local.gimme.tools"
	AudApp    = "app.local.gimme.tools"
)

// Audiences lists every audience a token may name: the router's, then
// the services' in service.Registry.
var Audiences = audiences()

func audiences() []string {
	out := []string{AudRouter}
	for _, s := range service.Registry {
		out = append(out, s.Audience)
	}
	return out
}

// AudienceFor returns the audience for a service name (one in
// service.Registry; "router" or "" for the router), or accepts a full
// audience unchanged.
func AudienceFor(name string) (string, error) {
	if name == "" || name == "router" {
		return AudRouter, nil
	}
	if s := service.Lookup(name); s != nil {
		return s.Audience, nil
	}
	if ValidAudience(name) {
		return name, nil
	}
	return "", errs.E("token.audience", errs.InvalidParams, errs.ReasonAudienceMismatch,
		errs.Hint("use one of "+strings.Join(service.Names(), ", ")+" (or "+strings.Join(Audiences, ", ")+")"),
		fmt.Errorf("unknown service or audience %q", name))
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
