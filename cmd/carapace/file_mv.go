package main

import "context"

var fileMvVerb = fileVerb{
	name:  "mv",
	usage: "carapace file mv FROM TO [--replace] [--json]",
	help:  "move or rename a file or directory inside the allowed folders",
	flags: []string{"replace"},
	exec:  fileMv,
}

func fileMv(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("mv", args, 2, 2, "carapace file mv ~/Documents/a.txt ~/Documents/old/a.txt"); err != nil {
		return err
	}
	from, err := remotePath(args[0])
	if err != nil {
		return err
	}
	to, err := remotePath(args[1])
	if err != nil {
		return err
	}
	var res struct {
		Path string `json:"path"`
	}
	if err := f.fileCall(ctx, "file.move", map[string]any{"from": from, "to": to, "replace": f.replace}, &res,
		under("DELETE", from), under("PUT", to)); err != nil {
		return err
	}
	return f.printPath(res.Path)
}
