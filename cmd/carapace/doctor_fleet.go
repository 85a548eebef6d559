package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/managed"
)

// printExports prints the audit exporters' state under `carapace status`.
func printExports(xs []audit.ExportStatus) {
	for i, x := range xs {
		if i == 0 {
			fmt.Println()
		}
		state := "ok"
		if !x.Healthy() {
			state = "LAGGING"
		}
		fmt.Printf("audit export %s: %s, %d sent, %d failed, %d skipped, %d queued", x.Name, state, x.Sent, x.Failed, x.Dropped, x.Queued)
		if x.LastErr != "" {
			fmt.Printf(" (last error: %s)", x.LastErr)
		}
		fmt.Println()
	}
}

// fleetChecks are doctor's checks of what a fleet relies on: the managed
// policy is valid, and every audit exporter keeps up.
func fleetChecks(ctx context.Context, f *clientFlags) []check {
	var out []check
	path, over, warn := managed.Locate(os.Getenv(managed.EnvPath))
	if pol := managed.Load(path, over); pol.Source != "" {
		c := check{Name: "managed policy", OK: true, Detail: pol.Source + " applies (owners cannot widen it)"}
		if warn != "" {
			c.Detail += "; " + warn
		}
		if es := pol.Errs(); len(es) > 0 {
			var msgs []string
			for _, e := range es {
				msgs = append(msgs, e.Error())
			}
			c.OK, c.Detail = false, strings.Join(msgs, "; ")
			c.Fix = "the services each entry governs are stopped until whoever manages this machine fixes " + pol.Source + " (`carapace config check` shows the entries)"
		}
		out = append(out, c)
	}
	var res struct {
		AuditExport []audit.ExportStatus `json:"audit_exports"`
	}
	if err := f.call(ctx, "services", map[string]any{}, &res); err != nil {
		return out
	}
	for _, x := range res.AuditExport {
		c := check{Name: "audit export " + x.Name, OK: x.Healthy(),
			Detail: fmt.Sprintf("%d sent, %d failed, %d skipped, %d queued", x.Sent, x.Failed, x.Dropped, x.Queued)}
		if !c.OK {
			c.Detail += ": " + x.LastErr
			c.Fix = "the records are all in the audit file; fix the exporter's destination (journald running? the collector reachable, its certificate trusted?) — `carapace status` shows its state"
		}
		out = append(out, c)
	}
	return out
}
