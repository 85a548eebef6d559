package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func pingCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace ping", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "ping",
		ShortUsage: "carapace ping [--json]",
		ShortHelp:  "check that the router answers",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			start := time.Now()
			var res struct {
				Pong bool `json:"pong"`
			}
			if err := f.call(ctx, "ping", map[string]any{}, &res); err != nil {
				return err
			}
			rtt := time.Since(start)
			if f.json {
				return printJSON(os.Stdout, map[string]any{"pong": res.Pong, "rtt_us": rtt.Microseconds()})
			}
			fmt.Printf("pong from router in %s\n", rtt.Round(time.Microsecond))
			return nil
		},
	}
}
