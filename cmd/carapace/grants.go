package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/core/token"
)

// grantsList is `carapace grants --json`: every live permission.
type grantsList struct {
	Tokens []token.IssuedToken `json:"tokens"`
	Grants []approval.Grant    `json:"grants"`
	// Network are the hosts allowed by the owner's remembered decision
	// in the code service's ask mode (ids "n…").
	Network []code.NetworkGrant `json:"network"`
	// ShellUnavailable says why remembered approvals could not be listed.
	ShellUnavailable string `json:"shell_unavailable,omitempty"`
}

func grantsCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace grants", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "grants",
		ShortUsage: "carapace grants [--json] | carapace grants revoke ID",
		ShortHelp:  "list every live permission: issued tokens, remembered approvals, allowed hosts",
		LongHelp: "Lists the tokens this machine issued that have not expired (agent, audience,\n" +
			"scope, expiry, last use), the shell approvals you asked to remember (g…: what they\n" +
			"cover, for whom, until when) and the network hosts you allowed for a token in ask\n" +
			"mode (n…: host and port, token, directory). `carapace grants revoke ID` ends one at once.",
		FlagSet:     fs,
		Subcommands: []*ffcli.Command{grantsRevokeCmd()},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return usage("run `carapace grants` alone, or `carapace grants revoke ID`", "grants takes no arguments")
			}
			l, err := listGrants(ctx, &f)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(os.Stdout, l)
			}
			if l.ShellUnavailable != "" {
				fmt.Fprintln(os.Stderr, "carapace: remembered approvals not listed: "+l.ShellUnavailable)
			}
			if len(l.Tokens)+len(l.Grants)+len(l.Network) == 0 {
				fmt.Fprintln(os.Stderr, "no live tokens or remembered approvals")
				return nil
			}
			printGrants(os.Stdout, l, time.Now())
			return nil
		},
	}
}

// listGrants asks the router for its tokens and the shell service (through
// the router's approvals.grants) for its grants. A shell service that is
// off is not an error: it holds no grants that act.
func listGrants(ctx context.Context, f *clientFlags) (grantsList, error) {
	var l grantsList
	var tr router.TokensResult
	if err := f.call(ctx, "token.list", nil, &tr); err != nil {
		return l, err
	}
	l.Tokens = tr.Tokens
	var gr shell.GrantsResult
	err := approvalsCall(ctx, f, "grants", nil, &gr)
	switch {
	case err == nil:
		l.Grants = gr.Grants
	case errs.Match(errs.E(errs.ReasonNotEnabled), err):
		// The shell service is off: it remembers nothing.
	case errs.Match(errs.E(errs.Unavailable), err):
		l.ShellUnavailable = err.Error()
	default:
		return l, err
	}
	// The code service's network grants (ask mode); a code service that
	// is off holds none, and an older one without the method neither.
	var nr code.NetworkGrantsResult
	if err := f.call(ctx, "approvals.network.grants", nil, &nr); err == nil {
		l.Network = nr.Grants
	} else if !errs.Match(errs.E(errs.Unavailable), err) && !errs.Match(errs.E(errs.NoMethod), err) {
		return l, err
	}
	if l.Network == nil {
		l.Network = []code.NetworkGrant{}
	}
	if l.Tokens == nil {
		l.Tokens = []token.IssuedToken{}
	}
	if l.Grants == nil {
		l.Grants = []approval.Grant{}
	}
	return l, nil
}

// printGrants prints tokens and grants as one table.
func printGrants(w io.Writer, l grantsList, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tAGENT\tCOVERS\tUNTIL\tLAST USE")
	for _, t := range l.Tokens {
		kind := "token"
		if t.Revoked {
			kind = "token (revoked)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\n", t.JTI, kind, t.Agent, token.ServiceFor(t.Aud),
			strings.Join(t.Scope, ","), until(t.Exp, now), lastUse(t.LastUsed, now))
	}
	for _, g := range l.Grants {
		covers := strings.Join(g.Prefix, " ") + " in " + g.Dir
		if g.Scope == approval.Exact {
			covers = "exactly " + oneLine(g.Command) + " in " + g.Dir
		}
		agent := g.Agent
		if agent == "" {
			agent = "-"
		}
		fmt.Fprintf(tw, "%s\tapproval (%s)\t%s\t%s\t%s\t%s\n", g.ID, g.Scope, agent, oneLine(covers),
			until(g.Until, now), lastUse(g.LastUsed, now))
	}
	agents := map[string]string{}
	for _, t := range l.Tokens {
		agents[t.JTI] = t.Agent
	}
	for _, g := range l.Network {
		agent, tok := agents[g.JTI], "token "+g.JTI
		if agent == "" {
			agent = "-"
		}
		if g.JTI == "" {
			tok = "a token without an id"
		}
		fmt.Fprintf(tw, "%s\tnetwork (token)\t%s\t%s with %s from %s\t%s\t%s\n", g.ID, agent, g.Target, tok,
			oneLine(g.Dir), until(g.Until, now), lastUse(g.LastUsed, now))
	}
	tw.Flush()
}

func until(t, now time.Time) string {
	if t.IsZero() {
		return "revoked by you"
	}
	return "in " + t.Sub(now).Truncate(time.Second).String()
}

func lastUse(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Truncate(time.Second).String() + " ago"
}

func grantsRevokeCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace grants revoke", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "revoke",
		ShortUsage: "carapace grants revoke ID",
		ShortHelp:  "end a token, a remembered approval or an allowed host at once",
		LongHelp: "Ends the token (by its jti), the remembered approval (g…) or the allowed network\n" +
			"host (n…) that `carapace grants` lists as ID. The token's next call is refused; the\n" +
			"next command the approval covered, or the next connection to the host, asks you\n" +
			"again. A command already running keeps its process and its open connections.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("`carapace grants` lists the ids", "revoke needs exactly one id")
			}
			return revokeGrant(ctx, &f, args[0])
		},
	}
}

// revokeGrant ends id: a remembered approval if the shell service holds
// one by that id, else a token this machine issued.
func revokeGrant(ctx context.Context, f *clientFlags, id string) error {
	l, err := listGrants(ctx, f)
	if err != nil {
		return err
	}
	for _, g := range l.Grants {
		if g.ID == id {
			var res shell.RevokeResult
			if err := approvalsCall(ctx, f, "revoke", map[string]string{"id": id}, &res); err != nil {
				return err
			}
			return revoked(f, res, "revoked approval "+id+": "+res.Revoked.Describe())
		}
	}
	for _, g := range l.Network {
		if g.ID == id {
			var res code.NetworkRevokeResult
			if err := f.call(ctx, "approvals.network.revoke", map[string]string{"id": id}, &res); err != nil {
				return err
			}
			return revoked(f, res, "revoked network grant "+id+": the next connection to "+g.Target+" asks you again")
		}
	}
	for _, t := range l.Tokens {
		if t.JTI == id {
			var res map[string]any
			if err := f.call(ctx, "token.revoke", map[string]any{"jti": id, "until": t.Exp.Unix()}, &res); err != nil {
				return err
			}
			return revoked(f, res, "revoked token "+id+" ("+t.Agent+", "+token.ServiceFor(t.Aud)+"): its next call is refused")
		}
	}
	return errs.E("grants revoke", errs.NotFound, errs.ReasonNoSuchGrant,
		errs.Hint("no live token, remembered approval or allowed host has the id "+id+"; `carapace grants` lists them (a token issued elsewhere: `carapace token revoke JTI`)"))
}

func revoked(f *clientFlags, res any, msg string) error {
	if f.json {
		return printJSON(os.Stdout, res)
	}
	fmt.Fprintln(os.Stderr, "carapace: "+msg)
	return nil
}
