package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/service/shell"
)

func approvalsCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace approvals", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	watch := fs.Bool("watch", false, "keep watching: on a terminal an interactive list (↑/↓, o once, t token, m 10 minutes, a always, d deny, q quit); otherwise print each new request")
	return &ffcli.Command{
		Name:       "approvals",
		ShortUsage: "carapace approvals [--json] [--watch]",
		ShortHelp:  "list shell commands and network connections waiting for your approval",
		LongHelp: "Lists the shell commands an agent asked to run, waiting for you: their id,\n" +
			"who asked, through what, the command, its directory and how long it has waited.\n" +
			"Answer with `carapace approve ID` or `carapace deny ID`.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return usage("run `carapace approvals` alone; approve with `carapace approve ID`", "approvals takes no arguments")
			}
			if *watch && !f.json && term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd())) {
				return watchTerminal(ctx, &f, os.Stdin, os.Stdout)
			}
			if *watch {
				return watchApprovals(ctx, &f)
			}
			res, err := listApprovals(ctx, &f)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			if len(res.Pending) == 0 {
				fmt.Fprintln(os.Stderr, "no commands are waiting for approval")
				return nil
			}
			printPending(os.Stdout, res.Pending)
			return nil
		},
	}
}

// approvalsCall calls approvals.<op> on the router, the owner-only name
// for the shell service's approval queue. A router that does not map it
// yet answers -32601; then shell.approvals.<op> is called directly.
func approvalsCall(ctx context.Context, f *clientFlags, op string, params, result any) error {
	err := f.call(ctx, "approvals."+op, params, result)
	if errs.Match(errs.E(errs.NoMethod), err) {
		err = f.call(ctx, "shell.approvals."+op, params, result)
	}
	return err
}

// listApprovals lists the shell commands and the network connections
// (the code service's ask mode) waiting for the owner. Either queue may
// be missing (its service disabled); both missing is the shell's error.
func listApprovals(ctx context.Context, f *clientFlags) (shell.ListResult, error) {
	var res shell.ListResult
	err := approvalsCall(ctx, f, "list", nil, &res)
	var network code.ApprovalsList
	if nerr := f.call(ctx, "approvals.network.list", nil, &network); nerr == nil {
		res.Pending = append(res.Pending, network.Pending...)
		if err != nil {
			res.ApprovalTimeoutMS = network.ApprovalTimeoutMS
			err = nil
		}
	}
	return res, err
}

// printPending prints requests as a table.
func printPending(w io.Writer, ps []approval.Pending) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tWHO\tVIA\tCWD\tCOMMAND")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ID, age(p.AgeMS), who(p.Caller), p.Caller.Via, p.Cwd, oneLine(p.Command))
	}
	tw.Flush()
}

func age(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Truncate(time.Second).String()
}

// who names the requester: the token's agent (else its subject) and
// issuer if it had one, and always the peer's uid and pid.
func who(c approval.Caller) string {
	peer := fmt.Sprintf("uid %d pid %d", c.UID, c.PID)
	s := c.Agent
	if s == "" {
		s = c.Sub
	}
	if s == "" {
		return peer
	}
	if c.Iss != "" {
		s += " (" + c.Iss + ")"
	}
	return s + ", " + peer
}

// oneLine shows control characters visibly, so a command cannot redraw
// the owner's terminal or hide a second line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '␣'
		}
		return r
	}, s)
}

// watchApprovals polls every second and prints each request once.
func watchApprovals(ctx context.Context, f *clientFlags) error {
	seen := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if !f.json {
		fmt.Fprintln(os.Stderr, "watching for shell commands that need your approval (Ctrl-C to stop)")
	}
	for {
		res, err := listApprovals(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var fresh []approval.Pending
		for _, p := range res.Pending {
			if !seen[p.ID] {
				seen[p.ID] = true
				fresh = append(fresh, p)
			}
		}
		if err := printFresh(f.json, fresh); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func printFresh(asJSON bool, ps []approval.Pending) error {
	for _, p := range ps {
		if asJSON {
			if err := printJSONLine(os.Stdout, p); err != nil {
				return err
			}
			continue
		}
		fmt.Printf("%s  %s asks via %s to run in %s:\n    %s\n    %s\n    carapace approve %s [--scope token|10m|always]   |   carapace deny %s\n",
			p.ID, who(p.Caller), p.Caller.Via, p.Cwd, oneLine(p.Command), rememberNote(p), p.ID, p.ID)
	}
	return nil
}

// rememberNote says what remembering the approval would cover, or why it
// cannot be remembered.
func rememberNote(p approval.Pending) string {
	switch {
	case p.NoRemember != "":
		return "asked every time: " + oneLine(p.NoRemember)
	case p.Covers != "":
		return "--scope always would cover " + oneLine(p.Covers)
	case p.NotPlain != "":
		return "can be approved once only: " + oneLine(p.NotPlain)
	}
	return "can be approved once only: it runs several commands"
}

// printJSONLine writes v as one line of JSON (for --watch --json).
func printJSONLine(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
