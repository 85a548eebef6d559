package main

import "github.com/gimme-tools/carapace/linux/install"

// platformChecks are the installer's checks: kernel features, units,
// sockets, group membership.
func platformChecks() []check {
	var out []check
	for _, c := range install.Doctor() {
		out = append(out, check{Name: c.Name, OK: c.OK, Detail: c.Detail, Fix: c.Fix})
	}
	return out
}
