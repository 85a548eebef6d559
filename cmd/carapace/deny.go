package main

import (
	"context"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func denyCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace deny", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "deny",
		ShortUsage: "carapace deny ID",
		ShortHelp:  "refuse a waiting shell command (its caller gets -32006) or a held network connection",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("`carapace approvals` lists the ids", "deny needs exactly one request id")
			}
			return decide(ctx, &f, args[0], decision{})
		},
	}
}
