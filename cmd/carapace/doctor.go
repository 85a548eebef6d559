package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// check is one line of `carapace doctor`: what was checked, whether it is
// fine, and the fix when it is not.
type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

func doctorCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace doctor", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
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
			checks := []check{routerCheck(ctx, &f)}
			checks = append(checks, clientChecks(ctx, &f)...)
			checks = append(checks, platformChecks()...)
			checks = append(checks, networkCheck())
			if f.json {
				return printJSON(os.Stdout, checks)
			}
			bad := 0
			for _, c := range checks {
				mark := "ok  "
				if !c.OK {
					mark, bad = "FAIL", bad+1
				}
				fmt.Printf("%s %-36s %s\n", mark, c.Name, c.Detail)
				if !c.OK && c.Fix != "" {
					fmt.Printf("     fix: %s\n", c.Fix)
				}
			}
			if bad > 0 {
				return &exitCodeError{code: exitError}
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
