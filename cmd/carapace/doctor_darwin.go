package main

import (
	"github.com/gimme-tools/carapace/launchd"
	"github.com/gimme-tools/carapace/xpcbridge/macapp"
)

// platformChecks reports each launchd job's state (SMAppService) and the
// Accessibility permission the app service needs, with the Settings pane
// to open. Built with -tags macsdk these are real; otherwise they say the
// build cannot tell.
func platformChecks() []check {
	var out []check
	for _, svc := range append(append([]string{}, launchd.Daemons...), launchd.Agents...) {
		kind := macapp.Daemon
		if launchd.IsAgent(svc) {
			kind = macapp.Agent
		}
		label := launchd.Label(svc)
		st, err := macapp.JobStatus(kind, label+".plist")
		c := check{Name: "launchd job " + label, OK: err == nil && st == macapp.Enabled, Detail: st.String()}
		if err != nil {
			c.Detail = err.Error()
		}
		if !c.OK {
			c.Fix = "open " + macapp.LoginItemsPane + " and allow Carapace"
		}
		out = append(out, c)
	}
	trusted, err := macapp.AccessibilityTrusted(false)
	c := check{Name: "Accessibility (app service)", OK: err == nil && trusted, Detail: "granted"}
	if err != nil {
		c.Detail = err.Error()
	} else if !trusted {
		c.Detail = "not granted"
	}
	if !c.OK {
		c.Fix = "open " + macapp.AccessibilityPane + " and enable Carapace"
	}
	return append(out, c)
}
