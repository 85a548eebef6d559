package main

import (
	"strings"
)

// networkCheck reads the owner file and fails when a list there allows
// every host ("*"): allowed, but never by accident.
func networkCheck(cf *configFlags) check {
	c := check{Name: "code: network allowlist", OK: true}
	st, err := cf.load(true)
	if err != nil {
		c.OK, c.Detail, c.Fix = false, "the configuration does not load: "+err.Error(), "run `carapace config check` and fix the key it names"
		return c
	}
	n := st.Owner.Services.Code.Network
	switch whole := n.WholeNetwork(); {
	case len(whole) > 0:
		c.OK = false
		c.Detail = strings.Join(whole, ", ") + ` allows every host ("*"): commands there reach the whole network`
		c.Fix = "list the hosts the commands need in " + st.OwnerPath + " (services.code.network, docs/network.md)"
	case n.Any():
		c.Detail = "commands reach only the hosts listed in services.code.network, through Carapace's proxy"
	default:
		c.Detail = "no network for commands (services.code.network allows no host)"
	}
	return c
}
