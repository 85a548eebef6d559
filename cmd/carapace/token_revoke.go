package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func tokenRevokeCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace token revoke", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "revoke",
		ShortUsage: "carapace token revoke JTI",
		ShortHelp:  "make a token unusable before it expires (owner only; survives restarts)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("`carapace token inspect TOKEN` shows a token's jti", "revoke needs exactly one jti")
			}
			var res map[string]any
			if err := f.call(ctx, "token.revoke", map[string]string{"jti": args[0]}, &res); err != nil {
				return err
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Fprintf(os.Stderr, "carapace: revoked %s\n", args[0])
			return nil
		},
	}
}
