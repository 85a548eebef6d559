package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// version is set with -ldflags "-X main.version=…" by release builds.
var version = "dev"

func versionCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:       "version",
		ShortUsage: "carapace version",
		ShortHelp:  "print the version",
		FlagSet:    flag.NewFlagSet("carapace version", flag.ContinueOnError),
		Exec:       func(context.Context, []string) error { return printVersion() },
	}
}

func printVersion() error {
	gov := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		gov = bi.GoVersion
	}
	fmt.Printf("carapace %s (%s)\n", version, gov)
	return nil
}
