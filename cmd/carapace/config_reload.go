package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func configReloadCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace config reload", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "reload",
		ShortUsage: "carapace config reload",
		ShortHelp:  "make the router re-read the issuers' keys and the managed policy (owner only; as SIGHUP does)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if err := f.call(ctx, "config.reload", map[string]any{}, nil); err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "carapace: config reload: issuer keys and the managed policy reloaded")
			return nil
		},
	}
}
