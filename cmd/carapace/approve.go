package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/shell"
)

func approveCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace approve", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	remember := fs.Duration("for", 0, "also approve the same command from the same directory, without asking, for this long (at most 24h)")
	return &ffcli.Command{
		Name:       "approve",
		ShortUsage: "carapace approve ID [--for 10m]",
		ShortHelp:  "let a waiting shell command run, or a held network connection through",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("`carapace approvals` lists the ids", "approve needs exactly one request id")
			}
			if *remember < 0 {
				return usage("give a duration such as 10m", "--for cannot be negative")
			}
			return decide(ctx, &f, args[0], true, *remember)
		},
	}
}

// decide answers request id and prints what happened.
func decide(ctx context.Context, f *clientFlags, id string, allow bool, remember time.Duration) error {
	params := map[string]any{"id": id, "allow": allow, "channel": "cli"}
	if remember > 0 {
		params["remember_ms"] = remember.Milliseconds()
	}
	var res shell.DecideResult
	err := approvalsCall(ctx, f, "decide", params, &res)
	if err != nil && !errs.Match(errs.E(errs.NotFound), err) && !errs.Match(errs.E(errs.Unavailable), err) {
		return err
	}
	if err != nil {
		// Not a shell command: a network connection held in ask mode?
		if nerr := f.call(ctx, "approvals.network.decide", params, &res); nerr != nil {
			return err
		}
	}
	if f.json {
		return printJSON(os.Stdout, res)
	}
	verb := "denied"
	if res.Allowed {
		verb = "approved"
	}
	fmt.Printf("%s %s\n", verb, res.ID)
	if res.RememberedUntil != nil {
		fmt.Printf("the same command from the same directory runs without asking until %s\n", res.RememberedUntil.Local().Format(time.TimeOnly))
	}
	return nil
}
