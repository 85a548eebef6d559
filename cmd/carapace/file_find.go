package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gimme-tools/carapace/core/service/file"
)

var fileFindVerb = fileVerb{
	name:  "find",
	usage: "carapace file find PATH QUERY [--glob G] [--limit N] [--json]",
	help:  "search text files under PATH for a plain substring",
	flags: []string{"glob", "limit"},
	exec:  fileFind,
}

func fileFind(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("find", args, 2, 2, "carapace file find ~/Documents TODO --glob '*.md'"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	params := map[string]any{"path": p, "query": args[1]}
	if f.glob != "" {
		params["glob"] = f.glob
	}
	if f.limit > 0 {
		params["limit"] = f.limit
	}
	var res file.SearchResult
	if err := f.fileCall(ctx, "file.search", params, &res, under("GET", p)); err != nil {
		return err
	}
	if f.json {
		return printJSON(os.Stdout, res)
	}
	for _, m := range res.Matches {
		fmt.Printf("%s:%d:%s\n", m.Path, m.Line, m.Text)
	}
	if res.Truncated {
		fmt.Fprintln(os.Stderr, "carapace: note: the search stopped at a bound; narrow PATH or --glob, or raise --limit")
	}
	return nil
}
