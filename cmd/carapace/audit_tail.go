package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
)

func auditTailCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace audit tail", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	dir := fs.String("dir", "", "the audit log directory (default: audit.path, else <state dir>/audit)")
	n := fs.Int("n", 20, "show the last N records")
	follow := fs.Bool("f", false, "keep printing new records as they are written")
	asJSON := fs.Bool("json", false, "print each record as its JSON line")
	return &ffcli.Command{
		Name:       "tail",
		ShortUsage: "carapace audit tail [-n N] [-f] [--json]",
		ShortHelp:  "show the last decisions in the audit log",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			const op = "audit tail"
			path, err := sf.auditDir(*dir)
			if err != nil {
				return errs.E(op, err)
			}
			err = audit.Tail(ctx, path, *n, *follow, func(r audit.Record, line []byte) error {
				if *asJSON {
					_, err := fmt.Fprintf(os.Stdout, "%s\n", line)
					return err
				}
				_, err := fmt.Fprintln(os.Stdout, auditLine(r))
				return err
			})
			if err != nil && ctx.Err() == nil {
				return errs.E(op, err)
			}
			return nil
		},
	}
}

// auditLine renders a record for people.
func auditLine(r audit.Record) string {
	who := fmt.Sprintf("uid %d", r.UID)
	if r.Agent != "" {
		who += " agent " + r.Agent
	}
	if r.Sub != "" {
		who += " sub " + r.Sub
	}
	s := fmt.Sprintf("%s #%d %-6s %s %s via %s", r.Time.Local().Format(time.DateTime), r.Seq, r.Decision, r.Method, who, r.Via)
	if r.Resource != "" {
		s += " on " + r.Resource
	}
	if r.By != "" {
		s += " by " + r.By
	}
	if r.Approval != "" {
		s += " approval " + r.Approval
	}
	if r.Ref != 0 {
		s += fmt.Sprintf(" (of #%d)", r.Ref)
	}
	if r.Repeat != 0 {
		s += fmt.Sprintf(" (+%d not written)", r.Repeat)
	}
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	return s
}
