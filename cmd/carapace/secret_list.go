package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/secret"
)

func secretListCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace secret list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print a JSON array")
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "carapace secret list [--json]",
		ShortHelp:  "list the stored secrets' names (never their values)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return usage("carapace secret list", "secret list takes no arguments")
			}
			ss, err := secret.Open()
			if err != nil {
				return secretError("secret list", err)
			}
			names, err := ss.List()
			if err != nil {
				return secretError("secret list", err)
			}
			if *asJSON {
				if names == nil {
					names = []string{}
				}
				return printJSON(os.Stdout, names)
			}
			for _, n := range names {
				fmt.Fprintln(os.Stdout, n)
			}
			return nil
		},
	}
}
