package main

import "context"

var fileRmVerb = fileVerb{
	name:  "rm",
	usage: "carapace file rm PATH [-r] [--json]",
	help:  "delete a file, a link (never its target), or with -r a directory",
	flags: []string{"r"},
	exec:  fileRm,
}

func fileRm(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("rm", args, 1, 1, "carapace file rm -r ~/Documents/old"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	var res struct {
		Path string `json:"path"`
	}
	if err := f.fileCall(ctx, "file.delete", map[string]any{"path": p, "recursive": f.recursive}, &res, under("DELETE", p)); err != nil {
		return err
	}
	return f.printPath(res.Path)
}
