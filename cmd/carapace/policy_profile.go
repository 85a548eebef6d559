package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
)

// policyProfileCmd makes a macOS configuration profile from a managed
// policy file, so an administrator writes one managed.yaml for Linux
// (config management) and macOS (MDM).
func policyProfileCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace policy profile", flag.ContinueOnError)
	in := fs.String("managed", managed.DefaultPath, "the managed policy to turn into a profile")
	out := fs.String("out", "", "where to write the profile (.mobileconfig); - for stdout")
	org := fs.String("org", "", "the organisation shown in the profile (PayloadOrganization)")
	return &ffcli.Command{
		Name:       "profile",
		ShortUsage: "carapace policy profile [--managed managed.yaml] --out carapace.mobileconfig",
		ShortHelp:  "make a macOS configuration profile (for an MDM) from a managed policy",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			const op = "policy profile"
			if *out == "" {
				return usage("for example: carapace policy profile --managed managed.yaml --out carapace.mobileconfig", "policy profile needs --out")
			}
			data, err := os.ReadFile(*in)
			if err != nil {
				return errs.E(op, errs.E("read "+*in, errs.Failed, errs.Hint("give the managed policy with --managed FILE"), err))
			}
			pol := managed.Parse(*in, data)
			if es := pol.Errs(); len(es) > 0 {
				return errs.E(op, errs.E(errs.InvalidParams, managed.ReasonInvalid,
					errs.Hint("fix the entry named above; the profile is made from a valid policy only"), errors.Join(es...)))
			}
			prof, err := managed.Profile(pol, *org)
			if err != nil {
				return errs.E(op, err)
			}
			if *out == "-" {
				_, err = os.Stdout.Write(prof)
				return err
			}
			if err := os.WriteFile(*out, prof, 0o644); err != nil {
				return errs.E(op, errs.E("write "+*out, errs.Failed, errs.Hint("give --out a path you can write"), err))
			}
			fmt.Fprintf(os.Stderr, "carapace: policy profile: wrote %s (payload type %s; installed, macOS writes it to %s)\n", *out, managed.Domain, managed.ManagedPrefsPath)
			return nil
		},
	}
}
