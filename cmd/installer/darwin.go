package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	darwin "github.com/gimme-tools/carapace/launchd/install"
)

// darwinPlan returns the macOS CLI-only install (role accounts first, then
// the launchd jobs) or uninstall for owner. It runs anywhere, so `--os
// darwin --dry-run` shows the Mac's plan on Linux too.
func darwinPlan(owner string, uninstall bool) ([]darwin.Step, error) {
	o := darwin.Options{}
	if owner != "" {
		u, err := user.Lookup(owner)
		if err != nil {
			if n, nerr := strconv.Atoi(owner); nerr == nil {
				o.OwnerUID = n
			} else {
				return nil, &hinted{fmt.Errorf("no user %q", owner), "pass the owner's login name or uid"}
			}
		} else {
			o.OwnerUID, _ = strconv.Atoi(u.Uid)
		}
	}
	if err := darwin.ReadAccounts(&o); err != nil {
		return nil, err
	}
	if uninstall {
		return darwin.Uninstall(o), nil
	}
	return darwin.Install(o)
}

// carryOutDarwin prints (dry run) or applies the steps.
func carryOutDarwin(steps []darwin.Step, dry bool) error {
	if dry {
		for _, s := range steps {
			fmt.Fprintln(os.Stdout, s.String())
		}
		return nil
	}
	return darwin.Apply(steps)
}
