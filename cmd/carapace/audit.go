package main

import (
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func auditCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:        "audit",
		ShortUsage:  "carapace audit verify|tail [flags]",
		ShortHelp:   "check and read the audit log",
		FlagSet:     flag.NewFlagSet("carapace audit", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{auditVerifyCmd(), auditTailCmd()},
	}
}
