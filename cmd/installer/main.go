// Command carapace-installer installs Carapace on a Linux system with
// systemd (a system user and a hardened unit per service, the owner's
// folders opened by ACL), and removes it again. The Debian package's
// maintainer scripts call it; so can a person.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/linux/install"
)

func main() {
	root := &ffcli.Command{
		Name:        "carapace-installer",
		ShortUsage:  "carapace-installer install|uninstall|status|doctor [flags]",
		ShortHelp:   "install Carapace as systemd services, or remove it",
		Subcommands: []*ffcli.Command{installCmd(), uninstallCmd(), statusCmd(), doctorCmd()},
		Exec:        func(context.Context, []string) error { return flag.ErrHelp },
	}
	if err := root.ParseAndRun(context.Background(), os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		var he *hinted
		if errors.As(err, &he) {
			fmt.Fprintf(os.Stderr, "carapace-installer: %v\nhint: %s\n", he.err, he.hint)
		} else {
			fmt.Fprintf(os.Stderr, "carapace-installer: %v\n", err)
		}
		os.Exit(1)
	}
}

// hinted is an error with the command that fixes it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }

func needRoot(verb string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	return &hinted{fmt.Errorf("%s must run as root", verb),
		"sudo carapace-installer " + verb + " ... (or add --dry-run to see what it would do)"}
}

func installCmd() *ffcli.Command {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	owner := fs.String("owner", "", "the user Carapace serves (required)")
	dry := fs.Bool("dry-run", false, "print every file and command, change nothing")
	files := fs.Bool("show-files", false, "with --dry-run, print each file's content too")
	return &ffcli.Command{
		Name: "install", ShortUsage: "carapace-installer install --owner USER [--dry-run]",
		ShortHelp: "install or update (idempotent; re-run after editing local.yaml)",
		FlagSet:   fs,
		Exec: func(_ context.Context, _ []string) error {
			if *owner == "" {
				return &hinted{errors.New("install needs --owner"), "sudo carapace-installer install --owner $USER"}
			}
			if !*dry {
				if err := needRoot("install"); err != nil {
					return err
				}
			}
			f, err := install.GatherOwner(*owner)
			if err != nil {
				return err
			}
			return carryOut(install.InstallPlan(f), *dry, *files)
		},
	}
}

func uninstallCmd() *ffcli.Command {
	fs := flag.NewFlagSet("uninstall", flag.ContinueOnError)
	purge := fs.Bool("purge", false, "also remove the configuration, the device key and the audit log")
	dry := fs.Bool("dry-run", false, "print every file and command, change nothing")
	return &ffcli.Command{
		Name: "uninstall", ShortUsage: "carapace-installer uninstall [--purge] [--dry-run]",
		ShortHelp: "remove units, users, groups, sockets and ACLs",
		FlagSet:   fs,
		Exec: func(_ context.Context, _ []string) error {
			if !*dry {
				if err := needRoot("uninstall"); err != nil {
					return err
				}
			}
			return carryOut(install.UninstallPlan(install.Gather(), *purge), *dry, false)
		},
	}
}

func carryOut(p install.Plan, dry, files bool) error {
	if dry {
		p.Print(os.Stdout, files)
		return nil
	}
	return p.Run(os.Stdout)
}

func statusCmd() *ffcli.Command {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	return &ffcli.Command{
		Name: "status", ShortUsage: "carapace-installer status [--json]", ShortHelp: "show what is installed and running",
		FlagSet: fs,
		Exec: func(context.Context, []string) error {
			st := install.ReadStatus()
			if *asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			st.Print(os.Stdout)
			return nil
		},
	}
}

func doctorCmd() *ffcli.Command {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	return &ffcli.Command{
		Name: "doctor", ShortUsage: "carapace-installer doctor [--json]",
		ShortHelp: "check kernel features, units, sockets, group membership; print the fix for each problem",
		FlagSet:   fs,
		Exec: func(context.Context, []string) error {
			checks := install.Doctor()
			ok := true
			for _, c := range checks {
				ok = ok && c.OK
			}
			if *asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				enc.Encode(checks)
			} else {
				install.PrintChecks(os.Stdout, checks)
			}
			if !ok {
				return errors.New("some checks failed; see the fixes above")
			}
			return nil
		},
	}
}
