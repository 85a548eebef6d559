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
	remember := fs.Duration("for", 0, "also approve the byte-identical command from the same directory, from anyone, for this long (at most 24h)")
	scope := fs.String("scope", "once", "remember the approval: once, token (this agent's token, until it expires), a duration such as 10m, or always (until `carapace grants revoke`)")
	prefix := fs.Int("prefix", 0, "with --scope: how many leading words of the command the grant covers (default: the program and its subcommand, as `git status`)")
	dir := fs.String("dir", "", "with --scope: the directory subtree the grant covers (default: the command's directory)")
	return &ffcli.Command{
		Name:       "approve",
		ShortUsage: "carapace approve ID [--scope once|token|10m|always] [--prefix N] [--dir DIR] [--for 10m]",
		ShortHelp:  "let a waiting shell command run, or a held network connection through, once or remembered",
		LongHelp: "Approves request ID. With --scope other than once, the approval is remembered as a\n" +
			"grant: the same agent (and audience) running a command that starts with the same\n" +
			"words, in the same directory or below, runs without asking until the grant ends.\n" +
			"Commands that send data out or destroy (curl, ssh, rm -rf, git push --force, sh -c,\n" +
			"… | sh) are never remembered. `carapace grants` lists grants and revokes them.\n" +
			"For a network connection held in ask mode, --for remembers the same host and port\n" +
			"for the same token (docs/network.md).",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("`carapace approvals` lists the ids", "approve needs exactly one request id")
			}
			if *remember < 0 {
				return usage("give a duration such as 10m", "--for cannot be negative")
			}
			if *remember > 0 && *scope != "once" {
				return usage("use --scope 10m (a grant) or --for 10m (the exact line), not both", "--for and --scope together")
			}
			if *prefix < 0 {
				return usage("give a number of words, as --prefix 2 for `git status`", "--prefix cannot be negative")
			}
			d := decision{allow: true, remember: *remember, scope: *scope, prefix: *prefix, dir: *dir}
			return decide(ctx, &f, args[0], d)
		},
	}
}

// decision is what the owner answered on the command line.
type decision struct {
	allow    bool
	remember time.Duration
	scope    string
	prefix   int
	dir      string
}

// decide answers request id and prints what happened.
func decide(ctx context.Context, f *clientFlags, id string, d decision) error {
	params := map[string]any{"id": id, "allow": d.allow, "channel": "cli"}
	if d.remember > 0 {
		params["remember_ms"] = d.remember.Milliseconds()
	}
	if d.scope != "" && d.scope != "once" {
		params["scope"] = d.scope
		params["prefix"] = d.prefix
		params["dir"] = d.dir
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
	switch {
	case res.Grant != nil && res.Grant.Scope != "exact":
		fmt.Printf("remembered as grant %s: %s\n", res.Grant.ID, res.Covers)
	case res.RememberedUntil != nil:
		fmt.Printf("the same command from the same directory runs without asking until %s\n", res.RememberedUntil.Local().Format(time.TimeOnly))
	}
	return nil
}
