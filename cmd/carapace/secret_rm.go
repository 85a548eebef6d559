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

func secretRmCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace secret rm", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "rm",
		ShortUsage: "carapace secret rm NAME",
		ShortHelp:  "remove a stored secret",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			name, err := oneName("rm", args)
			if err != nil {
				return err
			}
			if ok, err := secretsCall(ctx, &f, "remove", code.SecretParams{Name: name}, nil); ok {
				fmt.Fprintf(os.Stderr, "removed %s from the code service's store (the next command goes without it)\n", name)
				return nil
			} else if err != nil {
				return err
			}
			ss, err := secret.Open()
			if err != nil {
				return secretError("secret rm", err)
			}
			if err := ss.Delete(name); err != nil {
				return secretError("secret rm", err)
			}
			fmt.Fprintf(os.Stderr, "removed %s\n", name)
			return nil
		},
	}
}
