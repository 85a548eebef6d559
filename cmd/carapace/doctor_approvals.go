package main

import (
	"context"
	"fmt"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/shell"
)

// approvalsChecks reports, when the shell service runs, the remembered
// approvals that never end and whether a desktop notification can reach
// the owner.
func approvalsChecks(ctx context.Context, f *clientFlags) []check {
	var gr shell.GrantsResult
	err := approvalsCall(ctx, f, "grants", nil, &gr)
	if errs.Match(errs.E(errs.Unavailable), err) || errs.Match(errs.E(errs.NoMethod), err) {
		return nil // the shell service is off: nothing is approved
	}
	if err != nil {
		return []check{{Name: "shell approvals", OK: false, Detail: err.Error(), Fix: "`carapace status` shows whether the shell service is up"}}
	}
	always := 0
	for _, g := range gr.Grants {
		if g.Scope == approval.Always {
			always++
		}
	}
	c := check{Name: "remembered approvals", OK: true,
		Detail: fmt.Sprintf("%d live, %d until revoked", len(gr.Grants), always)}
	if always > 0 {
		c.Warn, c.Fix = true, "`carapace grants` lists them; `carapace grants revoke ID` ends one"
	}
	out := []check{c}
	if n := notificationCheck(); n != nil {
		out = append(out, *n)
	}
	return out
}
