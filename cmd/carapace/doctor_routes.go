package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service/code"
)

// routesCheck fails when a credential route's secret is not stored (or
// cannot be read): its commands would get 503 from the route. It asks
// the running stack's code service for the names it holds (secrets.list
// through stack; nil: no stack), else reads the owner's stores as the
// owner; values are never printed.
func routesCheck(ctx context.Context, cf *configFlags, stack *clientFlags) []check {
	st, err := cf.load(true)
	if err != nil {
		return nil // networkCheck says so
	}
	routes := st.Owner.Services.Code.Network.Routes
	if len(routes) == 0 {
		return nil
	}
	c := check{Name: "code: credential routes", OK: true}
	has, where, err := storedSecrets(ctx, st.OwnerHome, stack)
	if err != nil {
		c.OK, c.Detail, c.Fix = false, "the stored secrets cannot be listed: "+err.Error(), "see docs/secrets.md, \"Storing a secret\""
		return []check{c}
	}
	var names, missing, fix []string
	for n := range routes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := routes[n].SecretName(n)
		if err := has(s); err != nil {
			missing = append(missing, n+" (secret "+s+" in "+where+": "+err.Error()+")")
			fix = append(fix, "carapace secret set "+s)
		}
	}
	if len(missing) > 0 {
		c.OK = false
		c.Detail = "routes without their secret answer 503: " + strings.Join(missing, "; ")
		c.Fix = strings.Join(fix, "; ")
		return []check{c}
	}
	c.Detail = "every route's secret is stored: " + strings.Join(names, ", ")
	return []check{c}
}

// storedSecrets returns a check for a secret's presence: in the running
// stack's code service when one answers, else in the owner's stores.
func storedSecrets(ctx context.Context, home string, stack *clientFlags) (func(string) error, string, error) {
	if stack != nil {
		var res code.SecretsList
		if ok, err := secretsCall(ctx, stack, "list", nil, &res); ok {
			return func(name string) error {
				if !slices.Contains(res.Names, name) {
					return fmt.Errorf("not stored: %w", secret.ErrNotFound)
				}
				return nil
			}, "the code service's " + res.Where, nil
		} else if err != nil {
			return nil, "", err
		}
	}
	ss, err := secret.OpenIn(home)
	if err != nil {
		return nil, "", err
	}
	return func(name string) error { _, err := ss.Get(name); return err }, ss.Where(), nil
}
