package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/router"
)

func tokenIssueCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace token issue", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	aud := fs.String("aud", "", "the service the token opens: file, code, shell or app")
	var scopes listFlag
	fs.Var(&scopes, "scope", "a scope entry, VERB:path (repeatable), e.g. 'GET:~/Documents/*'")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid (at most tokens.max_ttl)")
	once := fs.Bool("once", false, "a one-time token: good for one service call")
	sub := fs.String("sub", "", "whom the token is for, e.g. agent:claude (default: owner)")
	return &ffcli.Command{
		Name:       "issue",
		ShortUsage: "carapace token issue --aud SERVICE --scope VERB:PATH [--ttl 1h] [--once] [--json]",
		ShortHelp:  "mint a token (owner only) and print it on stdout",
		LongHelp: "Asks the router for a token no wider than the owner configuration allows.\n" +
			"Only the owner, over the local socket, may mint. Hand the printed token\n" +
			"to an agent: it passes it with --token, --token-file or $GIMME_TOKEN.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("quote scope entries: --scope 'GET:~/Documents/*'", "unexpected argument %q", args[0])
			}
			if *aud == "" {
				return usage("for example: carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 1h", "--aud is required")
			}
			p := router.IssueParams{Aud: *aud, Scope: scopes, TTLSeconds: int64(ttl.Seconds()), Once: *once, Sub: *sub}
			var res router.IssueResult
			if err := f.call(ctx, "token.issue", p, &res); err != nil {
				return err
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Println(res.Token)
			fmt.Fprintf(os.Stderr, "carapace: token for %s, jti %s, expires %s\n", res.Aud, res.JTI, time.Unix(res.Exp, 0).Format(time.RFC3339))
			return nil
		},
	}
}
