package main

import (
	"flag"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func tokenCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:        "token",
		ShortUsage:  "carapace token issue|inspect|revoke [flags] [args]",
		ShortHelp:   "mint, inspect and revoke capability tokens",
		FlagSet:     flag.NewFlagSet("carapace token", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{tokenIssueCmd(), tokenInspectCmd(), tokenRevokeCmd()},
	}
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
