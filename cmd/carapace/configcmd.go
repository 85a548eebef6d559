package main

import (
	"flag"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func configCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:        "config",
		ShortUsage:  "carapace config check|reload [flags]",
		ShortHelp:   "validate the configuration files, or make the router re-read issuer keys",
		FlagSet:     flag.NewFlagSet("carapace config", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{configCheckCmd(), configReloadCmd()},
	}
}
