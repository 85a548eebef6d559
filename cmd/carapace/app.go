package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/app"
)

func appCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:        "app",
		ShortUsage:  "carapace app list|open [flags] [args]",
		ShortHelp:   "list and open the allowed desktop apps (app service)",
		FlagSet:     flag.NewFlagSet("carapace app", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{appListCmd(), appOpenCmd()},
	}
}

func appListCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace app list", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "carapace app list [--json]",
		ShortHelp:  "list the allowed apps installed here, and whether each runs",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("carapace app list takes flags only", "unexpected argument %q", args[0])
			}
			ctx, cancel := f.context(ctx)
			defer cancel()
			c, err := f.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			// app.list touches no app, but asks for a token of the app
			// service: the owner's covers the allowed apps.
			var scopes []string
			if st, err := (&configFlags{}).load(true); err == nil {
				for _, a := range st.Owner.Services.App.AllowedApps {
					scopes = append(scopes, "POST:/"+a)
				}
			}
			if len(scopes) > 0 {
				if err := f.selfMint(ctx, c, "app list", "app", scopes, true); err != nil {
					return err
				}
			}
			var res app.ListResult
			if err := c.Call(ctx, "app.list", map[string]any{}, &res); err != nil {
				return errs.E("app list", err)
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "APP\tID\tRUNNING")
			for _, a := range res.Apps {
				fmt.Fprintf(tw, "%s\t%s\t%v\n", a.Name, a.ID, a.Running)
			}
			tw.Flush()
			for _, m := range res.Missing {
				fmt.Fprintf(os.Stderr, "carapace: note: %q is allowed (services.app.allowed_apps) but no installed app answers to it\n", m)
			}
			return nil
		},
	}
}

func appOpenCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace app open", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "open",
		ShortUsage: "carapace app open APP [FILE...] [--json]",
		ShortHelp:  "start an allowed app, optionally with files that pass the file service's rules",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usage("for example: carapace app open org.gnome.TextEditor ~/Documents/notes.txt (carapace app list shows the ids)", "app open needs an app")
			}
			p := app.OpenParams{App: args[0]}
			for _, a := range args[1:] {
				abs, err := filepath.Abs(a)
				if err != nil {
					return errs.E("app open", err)
				}
				p.Files = append(p.Files, abs)
			}
			ctx, cancel := f.context(ctx)
			defer cancel()
			c, err := f.dial(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := f.selfMint(ctx, c, "app open", "app", []string{"POST:/" + p.App}, true); err != nil {
				return err
			}
			var res app.Result
			if err := c.Call(ctx, "app.open", p, &res); err != nil {
				return errs.E("app open", err)
			}
			if f.json {
				return printJSON(os.Stdout, res)
			}
			fmt.Printf("opened %s (%s), pids %v\n", res.App, res.ID, res.PIDs)
			return nil
		},
	}
}
