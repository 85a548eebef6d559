package main

import (
	"sort"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/secret"
)

// routesCheck fails when a credential route's secret is not stored (or
// cannot be read): its commands would get 503 from the route. It reads
// the owner's stores as the owner; values are never printed.
func routesCheck() []check {
	cf := configFlags{system: config.DefaultSystemPath}
	st, err := cf.load(true)
	if err != nil {
		return nil // networkCheck says so
	}
	routes := st.Owner.Services.Code.Network.Routes
	if len(routes) == 0 {
		return nil
	}
	c := check{Name: "code: credential routes", OK: true}
	ss, err := secret.OpenIn(st.OwnerHome)
	if err != nil {
		c.OK, c.Detail, c.Fix = false, "the secret store does not open: "+err.Error(), "see docs/secrets.md, \"Storing a secret\""
		return []check{c}
	}
	var names, missing, fix []string
	for n := range routes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := routes[n].SecretName(n)
		if _, err := ss.Get(s); err != nil {
			missing = append(missing, n+" (secret "+s+": "+err.Error()+")")
			fix = append(fix, "carapace secret set "+s)
		}
	}
	if len(missing) > 0 {
		c.OK = false
		c.Detail = "routes without their secret answer 503: " + strings.Join(missing, "; ")
		c.Fix = strings.Join(fix, "; ") + "; then carapace restart code"
		return []check{c}
	}
	c.Detail = "every route's secret is stored: " + strings.Join(names, ", ")
	return []check{c}
}
