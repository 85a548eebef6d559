package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/client"
)

// check is one line of `carapace doctor`: what was checked, whether it is
// fine, and the fix when it is not.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	Warn   bool   `json:"warn,omitempty"` // fine to run with, worth knowing
}

func doctorCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace doctor", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	f.registerConfig(fs)
	return &ffcli.Command{
		Name:       "doctor",
		ShortUsage: "carapace doctor [--json]",
		ShortHelp:  "check that Carapace can run here, and print the fix for each problem",
		LongHelp: "Checks the router answers and is who it should be (its peer credentials,\n" +
			"any dev runtime directory's owner and mode), then this platform's requirements: on Linux the\n" +
			"kernel features, units, sockets and group (as `carapace-installer doctor`);\n" +
			"on macOS each launchd job's approval and the Accessibility permission, with\n" +
			"the System Settings pane to open.",
		FlagSet: fs,
		Exec: func(ctx context.Context, _ []string) error {
			if err := f.cf.checkNamed(); err != nil {
				return err
			}
			checks := []check{routerCheck(ctx, &f)}
			checks = append(checks, clientChecks(ctx, &f)...)
			if sock, dev := isDevStack(ctx, &f); dev {
				checks = append(checks, check{Name: "stack", OK: true, Detail: "a dev stack (carapace dev) at " + sock + ": the installed stack's checks (systemd, units, sockets) do not apply"})
				checks = append(checks, devOnly(platformChecks())...)
			} else {
				checks = append(checks, platformChecks()...)
			}
			checks = append(checks, confinementChecks(ctx, &f)...)
			checks = append(checks, networkCheck(&f.cf))
			checks = append(checks, fleetChecks(ctx, &f)...)
			checks = append(checks, routesCheck(ctx, &f.cf, &f)...)
			checks = append(checks, approvalsChecks(ctx, &f)...)
			checks = append(checks, folderChecks(&f.cf)...)
			bad := 0
			for _, c := range checks {
				if !c.OK {
					bad++
				}
			}
			if f.json {
				if err := printJSON(os.Stdout, checks); err != nil {
					return err
				}
				if bad > 0 {
					return exitStatus(exitError)
				}
				return nil
			}
			for _, c := range checks {
				mark := "ok  "
				switch {
				case !c.OK:
					mark = "FAIL"
				case c.Warn:
					mark = "warn"
				}
				fmt.Printf("%s %-36s %s\n", mark, c.Name, c.Detail)
				if (!c.OK || c.Warn) && c.Fix != "" {
					fmt.Printf("     fix: %s\n", c.Fix)
				}
			}
			if bad > 0 {
				return exitStatus(exitError)
			}
			return nil
		},
	}
}

func routerCheck(ctx context.Context, f *clientFlags) check {
	c := check{Name: "router answers"}
	if err := f.call(ctx, "ping", map[string]any{}, nil); err != nil {
		c.Detail, c.Fix = err.Error(), hintOf(err)
		return c
	}
	c.OK, c.Detail = true, "ping answered"
	return c
}

// folderChecks warns of each configured folder that does not exist yet:
// calls under it fail until it is created.
func folderChecks(cf *configFlags) []check {
	missing, st, err := localMissing(cf)
	if err != nil {
		return []check{{Name: "configured folders exist", Detail: "the configuration does not load: " + err.Error(), Fix: hintOr(err, "run `carapace config check` and fix the key it names")}}
	}
	if len(missing) == 0 {
		return []check{{Name: "configured folders exist", OK: true, Detail: "every services.file.paths and services.code.project_roots folder exists"}}
	}
	var out []check
	for _, m := range missing {
		out = append(out, check{Name: "folder " + m.Path, OK: true, Warn: true, Detail: m.String(), Fix: missingHint(st, m)})
	}
	return out
}

// isDevStack reports whether the router that answers is a dev stack: one
// served by this user, at a socket other than the installed one.
func isDevStack(ctx context.Context, f *clientFlags) (string, bool) {
	ctx, cancel := f.context(ctx)
	defer cancel()
	sock, err := f.path()
	if err != nil || sock == client.SystemSocket {
		return sock, false
	}
	c, err := client.Dial(ctx, sock)
	if err != nil {
		return sock, false
	}
	defer c.Close()
	cr, ok := c.Server()
	return sock, ok && cr.UID == os.Geteuid()
}

// devOnly keeps the platform checks that matter to a dev stack: those of
// an installed stack (systemd, its record, units, sockets) are left out.
func devOnly(checks []check) []check {
	var out []check
	for _, c := range checks {
		switch {
		case c.Name == "systemd is PID 1", c.Name == "installed",
			strings.HasPrefix(c.Name, "unit "), strings.HasPrefix(c.Name, "socket "):
			continue
		}
		out = append(out, c)
	}
	return out
}
