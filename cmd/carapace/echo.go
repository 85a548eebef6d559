package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func echoCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace echo", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "echo",
		ShortUsage: "carapace echo [--json] WORDS...",
		ShortHelp:  "send {\"msg\": WORDS} and print what the router sends back",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			msg := strings.Join(args, " ")
			var res json.RawMessage
			if err := f.call(ctx, "echo", map[string]string{"msg": msg}, &res); err != nil {
				return err
			}
			if f.json {
				_, err := fmt.Fprintf(os.Stdout, "%s\n", res)
				return err
			}
			var m struct {
				Msg string `json:"msg"`
			}
			json.Unmarshal(res, &m)
			fmt.Println(m.Msg)
			return nil
		},
	}
}
