package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/stack"
)

// credentialRoutes reads the secret of each of the owner's credential
// routes (services.code.network.routes) from the owner's stores, before
// the code service confines itself, and returns the routes for the
// egress proxy and one redaction pattern per secret: a secret an
// upstream echoes back is cut out by the proxy, and one that reaches a
// command's output anyway is redacted there. A route whose secret cannot
// be read is answered 503 with why (and logged); the others work.
func credentialRoutes(st *stack.Settings) (*egress.Routes, []redact.Pattern) {
	cfg := st.Owner.Services.Code.Network.Routes
	if len(cfg) == 0 {
		return nil, nil
	}
	rs := &egress.Routes{Routes: map[string]egress.Route{}, Missing: map[string]string{}}
	// The proxy verifies upstreams against the system's roots, which
	// crypto/x509 reads once, at first use: now, while the files are
	// still readable to the service.
	x509.SystemCertPool()
	ss, err := secret.OpenIn(st.OwnerHome)
	var pats []redact.Pattern
	names := make([]string, 0, len(cfg))
	for n := range cfg {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		rc := cfg[name]
		r, perr := egress.ParseRoute(name, rc.Upstream, rc.Header)
		var v []byte
		if perr == nil && err == nil {
			v, perr = ss.Get(rc.SecretName(name))
		} else if perr == nil {
			perr = err
		}
		if perr == nil {
			r, perr = r.WithSecret(string(v))
		}
		if perr != nil {
			why := fmt.Sprintf("%v (the owner stores it with: carapace secret set %s; then carapace restart code)", perr, rc.SecretName(name))
			fmt.Fprintf(os.Stderr, "carapace: code: route %s: %s\n", name, why)
			rs.Missing[name] = why
			continue
		}
		rs.Routes[name] = r
		pats = append(pats, redact.Pattern{ID: "route-" + name, Regex: regexp.QuoteMeta(r.Secret())})
	}
	return rs, pats
}
