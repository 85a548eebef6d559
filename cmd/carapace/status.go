package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/router"
)

func statusCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace status", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	f.registerConfig(fs)
	return &ffcli.Command{
		Name:       "status",
		ShortUsage: "carapace status [--json]",
		ShortHelp:  "show which services are up, their pids and restarts",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			var res struct {
				Services []router.Status `json:"services"`
				Entries  struct {
					WebSocket *struct {
						Listen      string `json:"listen"`
						Connections int    `json:"connections"`
					} `json:"websocket,omitempty"`
					Relay *struct {
						URL       string `json:"url"`
						Connected bool   `json:"connected"`
						Since     string `json:"since"`
						Redials   int    `json:"redials"`
						Sessions  int    `json:"sessions"`
						LastError string `json:"last_error,omitempty"`
					} `json:"relay,omitempty"`
				} `json:"entries"`
				MissingFolders []missingFolder      `json:"missing_folders,omitempty"`
				AuditExport    []audit.ExportStatus `json:"audit_exports,omitempty"`
			}
			if err := f.cf.checkNamed(); err != nil {
				return err
			}
			missing, st, lerr := localMissing(&f.cf)
			if err := f.call(ctx, "services", map[string]any{}, &res); err != nil {
				return err
			}
			if lerr != nil {
				// The stack answered; say why its folders are not checked.
				fmt.Fprintf(os.Stderr, "carapace: status: configured folders not checked: %v\nhint: %s\n", lerr, hintOr(lerr, "fix the file (carapace config check)"))
			}
			res.MissingFolders = missing
			if f.json {
				return printJSON(os.Stdout, res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tSTATE\tPID\tRESTARTS\tSINCE\tNOTE")
			for _, s := range res.Services {
				state := "down"
				switch {
				case !s.Enabled:
					state = "disabled"
				case s.Up:
					state = "up"
				}
				pid := "-"
				if s.PID > 0 {
					pid = fmt.Sprint(s.PID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, state, pid, s.Restarts, dash(s.Since), s.Error)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, s := range res.Services {
				if s.Unconfined != "" {
					fmt.Printf("\nunconfined: %s: %s\n", s.Name, s.Unconfined)
				}
			}
			if ws := res.Entries.WebSocket; ws != nil {
				fmt.Printf("\nwebsocket: listening on %s, %d connections\n", ws.Listen, ws.Connections)
			}
			if rl := res.Entries.Relay; rl != nil {
				state := "disconnected"
				if rl.Connected {
					state = "connected"
				}
				fmt.Printf("relay: %s %s since %s, %d redials, %d sessions", rl.URL, state, rl.Since, rl.Redials, rl.Sessions)
				if rl.LastError != "" {
					fmt.Printf(" (last error: %s)", rl.LastError)
				}
				fmt.Println()
			}
			printExports(res.AuditExport)
			for i, m := range missing {
				if i == 0 {
					fmt.Println()
				}
				fmt.Printf("missing: %s\n  %s\n", m, missingHint(st, m))
			}
			return nil
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
