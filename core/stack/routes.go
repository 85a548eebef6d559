package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service/code"
)

// routeStore is where the code service keeps credential routes' secrets.
// An installed service (systemd gave it a StateDirectory, and it is not
// a dev stack) runs as a user of its own that can read none of the
// owner's stores: it keeps the secrets the owner hands over
// (code.secrets.set) in <state directory>/secrets, 0600 files of its
// own. A dev stack's runs as the owner and uses the owner's stores, as
// `carapace secret set` without a stack does.
func routeStore(st *Settings) (*secret.Stores, error) {
	if dir, ok := serviceStateDir(st); ok {
		f, err := secret.NewFileStore(filepath.Join(dir, "secrets"))
		if err != nil {
			return nil, err
		}
		return secret.NewStores(f), nil
	}
	return secret.OpenIn(st.OwnerHome)
}

// serviceStateDir is the first directory systemd's StateDirectory= gave
// the service ($STATE_DIRECTORY), outside a dev stack.
func serviceStateDir(st *Settings) (string, bool) {
	d, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	return d, !st.Dev && filepath.IsAbs(d)
}

// credentialRoutes reads the secret of each of the owner's credential
// routes (services.code.network.routes) from ss (routeStore), and
// returns the routes for the egress proxy and one redaction pattern per
// secret: a secret an upstream echoes back is cut out by the proxy, and
// one that reaches a command's output anyway is redacted there. A route
// whose secret cannot be read is answered 503 with why (and logged); the
// others work. It runs when the code service starts and again whenever
// the owner sets or removes a secret (code.secrets.*).
func credentialRoutes(st *Settings, ss *secret.Stores, err error) (*egress.Routes, []redact.Pattern) {
	cfg := st.Owner.Services.Code.Network.Routes
	if len(cfg) == 0 {
		return nil, nil
	}
	rs := &egress.Routes{Routes: map[string]egress.Route{}, Missing: map[string]string{}}
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
			why := fmt.Sprintf("%v (the owner stores it with: carapace secret set %s)", perr, rc.SecretName(name))
			fmt.Fprintf(os.Stderr, "carapace: code: route %s: %s\n", name, why)
			rs.Missing[name] = why
			continue
		}
		rs.Routes[name] = r
		pats = append(pats, redact.Pattern{ID: "route-" + name, Regex: regexp.QuoteMeta(r.Secret())})
	}
	return rs, pats
}

// routeSecrets lets the owner change the code service's route secrets
// while it runs (code.secrets.*): store keeps them, and the routes and
// the output scanner are rebuilt from it after each change. Nil when
// there is no store.
func routeSecrets(st *Settings, store *secret.Stores) *code.RouteSecrets {
	if store == nil {
		return nil
	}
	return &code.RouteSecrets{Store: store, Load: func(ss *secret.Stores) (*egress.Routes, *redact.Scanner, error) {
		rs, pats := credentialRoutes(st, ss, nil)
		sc, err := ownerScanner(st, pats...)
		return rs, sc, err
	}}
}
