package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func callCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace call", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "call",
		ShortUsage: "carapace call METHOD [PARAMS-JSON]",
		ShortHelp:  "call any method with raw JSON params and print the raw result",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usage(`for example: carapace call echo '{"msg":"hi"}'`, "call needs a method and optional JSON params")
			}
			var params json.RawMessage
			if len(args) == 2 {
				if !json.Valid([]byte(args[1])) {
					return usage("quote the JSON for your shell: '{\"key\": \"value\"}'", "params are not valid JSON: %s", args[1])
				}
				params = json.RawMessage(args[1])
			}
			var res json.RawMessage
			if err := f.call(ctx, args[0], params, &res); err != nil {
				return err
			}
			if f.json {
				_, err := fmt.Fprintf(os.Stdout, "%s\n", res)
				return err
			}
			var v any
			json.Unmarshal(res, &v)
			return printJSON(os.Stdout, v)
		},
	}
}
