package main

import (
	"context"
	"errors"
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/secret"
)

// The secret commands hand a secret to the running stack's code service
// (the router's secrets.*, owner-only: the owner's uid on the local
// socket, with no token, so nothing an agent holds reaches them), which
// keeps it and uses it from the next command on. With no stack running
// they work on the owner's own stores (core/secret) directly, which a
// dev stack's code service reads when it starts.
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

// secretsCall calls the router's secrets.<op>. It reports false, and no
// error, when no stack takes the call: none answers at the socket, its
// router predates secrets.*, or its code service is off. The caller then
// uses the owner's stores.
func secretsCall(ctx context.Context, f *clientFlags, op string, params, result any) (bool, error) {
	err := f.call(ctx, "secrets."+op, params, result)
	switch {
	case err == nil:
		return true, nil
	case errs.ReasonOf(err) == errs.ReasonRouterDown, errs.ReasonOf(err) == errs.ReasonNotEnabled, errs.Is(errs.NoMethod, err):
		return false, nil
	}
	return false, err
}

// noStack says where a secret went when no stack took it.
func noStack(f *clientFlags) string {
	sock, _ := f.path()
	return "no stack answers at " + sock + "; a dev stack's code service reads your store when it starts, an installed one's cannot: run this again once the stack runs"
}
