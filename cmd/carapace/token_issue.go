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
	f.registerOwner(fs)
	aud := fs.String("aud", "", "the service the token opens: file, code, shell or app")
	var scopes listFlag
	fs.Var(&scopes, "scope", "a scope entry, VERB:path (repeatable), e.g. 'GET:~/Documents/*'")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid (at most tokens.max_ttl)")
	once := fs.Bool("once", false, "a one-time token: good for one service call")
	name := fs.String("name", "", "the agent the token is for, e.g. claude: shown in approvals and the audit log (default: <aud>-agent)")
	sub := fs.String("sub", "", "the principal the agent acts for (default: owner)")
	var network listFlag
	fs.Var(&network, "network", "code tokens: a host the token's commands may reach (repeatable), within the owner's services.code.network; the token then reaches no other")
	noNetwork := fs.Bool("no-network", false, "code tokens: no network for the token's commands, whatever the owner's rules allow")
	return &ffcli.Command{
		Name:       "issue",
		ShortUsage: "carapace token issue --aud SERVICE --scope VERB:PATH [--name AGENT] [--ttl 1h] [--once] [--network HOST | --no-network] [--json]",
		ShortHelp:  "mint a token (owner only) and print it on stdout",
		LongHelp: "Asks the router for a token no wider than the owner configuration allows.\n" +
			"Only the owner, over the local socket, may mint. Hand the printed token\n" +
			"to an agent: it passes it with --token, --token-file or $GIMME_TOKEN.\n" +
			"--name names the agent in the token (the agent claim); approvals and\n" +
			"every audit record of its calls show that name. --network narrows a code\n" +
			"token's network to the hosts named (within the owner's rules; never wider).",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("quote scope entries: --scope 'GET:~/Documents/*'", "unexpected argument %q", args[0])
			}
			if *aud == "" {
				return usage("for example: carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 1h", "--aud is required")
			}
			if len(scopes) == 0 {
				return usage("name what the token opens, e.g. --scope 'GET:~/Documents/*' (repeatable)", "--scope is required: a token without one allows nothing")
			}
			if *ttl < time.Second {
				return usage("give --ttl of at least 1s, e.g. --ttl 10m", "--ttl %v is shorter than the minimum, 1s", *ttl)
			}
			p := router.IssueParams{Aud: *aud, Scope: scopes, TTLSeconds: int64(ttl.Seconds()), Once: *once, Sub: *sub, Name: *name}
			switch {
			case *noNetwork && len(network) > 0:
				return usage("give either --network HOST (repeatable) or --no-network", "--network and --no-network together")
			case *noNetwork:
				p.Network = &[]string{}
			case len(network) > 0:
				hosts := []string(network)
				p.Network = &hosts
			}
			var res router.IssueResult
			if err := f.call(ctx, "token.issue", p, &res); err != nil {
				return cliHint("token.issue", err)
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Println(res.Token)
			fmt.Fprintf(os.Stderr, "carapace: token for %s, agent %s, jti %s, expires %s\n", res.Aud, res.Agent, res.JTI, time.Unix(res.Exp, 0).Format(time.RFC3339))
			return nil
		},
	}
}
