package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service/code"
)

func secretListCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace secret list", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "carapace secret list [--json] [--socket PATH]",
		ShortHelp:  "list the stored secrets' names (never their values)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return usage("carapace secret list", "secret list takes no arguments")
			}
			var res code.SecretsList
			ok, err := secretsCall(ctx, &f, "list", nil, &res)
			if err != nil {
				return err
			}
			names := res.Names
			if !ok {
				ss, err := secret.Open()
				if err != nil {
					return secretError("secret list", err)
				}
				if names, err = ss.List(); err != nil {
					return secretError("secret list", err)
				}
			}
			if f.json {
				if names == nil {
					names = []string{}
				}
				return printJSON(os.Stdout, names)
			}
			if len(names) == 0 {
				fmt.Fprintln(os.Stderr, "no secrets stored; `carapace secret set NAME` stores one")
			}
			for _, n := range names {
				fmt.Fprintln(os.Stdout, n)
			}
			return nil
		},
	}
}
