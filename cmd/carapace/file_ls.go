package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/file"
)

var fileLsVerb = fileVerb{
	name:  "ls",
	usage: "carapace file ls PATH [--glob G] [--json]",
	help:  "list a folder (links are shown as links, not followed)",
	flags: []string{"glob"},
	exec:  fileLs,
}

func fileLs(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("ls", args, 1, 1, "carapace file ls ~/Documents --glob '*.pdf'"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dialFile(ctx, under("GET", p))
	if err != nil {
		return err
	}
	defer c.Close()
	all := file.ListResult{Entries: []file.Entry{}}
	params := map[string]any{"path": p}
	if f.glob != "" {
		params["glob"] = f.glob
	}
	for { // page through with "after"
		var res file.ListResult
		if err := c.Call(ctx, "file.list", params, &res); err != nil {
			return errs.E("file ls", err)
		}
		all.Path = res.Path
		all.Entries = append(all.Entries, res.Entries...)
		if !res.Truncated || len(res.Entries) == 0 {
			break
		}
		params["after"] = res.Entries[len(res.Entries)-1].Name
	}
	if f.json {
		return printJSON(os.Stdout, all)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	for _, e := range all.Entries {
		name := e.Name
		if e.Type == "dir" {
			name += "/"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", e.Type, e.Size, e.Mtime, name)
	}
	return tw.Flush()
}
