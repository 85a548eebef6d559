package main

import (
	"errors"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/secret"
)

// The secret commands work on the owner's own stores (core/secret)
// directly, not through the router: a secret never crosses a socket an
// agent could reach.
func secretCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:        "secret",
		ShortUsage:  "carapace secret set|list|rm [NAME]",
		ShortHelp:   "store credentials that credential routes add to sandboxed commands' requests",
		FlagSet:     flag.NewFlagSet("carapace secret", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{secretSetCmd(), secretListCmd(), secretRmCmd()},
	}
}

// secretError gives a store's error its op, kind and a hint.
func secretError(op string, err error) error {
	switch {
	case errors.Is(err, secret.ErrNotFound):
		return errs.E(op, errs.NotFound, errs.ReasonNoSecret, errs.Hint("`carapace secret list` names the stored secrets"), err)
	default:
		return errs.E(op, errs.Failed, errs.Hint("check the store named above (docs/secrets.md, \"Credential routes\")"), err)
	}
}

// oneName checks the NAME argument.
func oneName(verb string, args []string) (string, error) {
	if len(args) != 1 {
		return "", usage("carapace secret "+verb+" NAME", "secret %s needs exactly one name", verb)
	}
	if err := secret.CheckName(args[0]); err != nil {
		return "", usage("a name is letters, digits, dots, dashes and underscores, e.g. github", "%v", err)
	}
	return args[0], nil
}
