package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func whoamiCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace whoami", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "whoami",
		ShortUsage: "carapace whoami [--json]",
		ShortHelp:  "show who the router runs as, and who it sees you as",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			var res map[string]any
			if err := f.call(ctx, "whoami", map[string]any{}, &res); err != nil {
				return err
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("router runs as %v (uid %v)\n", res["user"], res["uid"])
			fmt.Printf("you are uid %v, pid %v", res["caller_uid"], res["caller_pid"])
			if res["owner"] == true {
				fmt.Print(" (the owner)")
			}
			fmt.Println()
			for _, k := range []string{"device_id", "audiences"} {
				if v, ok := res[k]; ok {
					fmt.Printf("%s: %v\n", k, v)
				}
			}
			return nil
		},
	}
}
