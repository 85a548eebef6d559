package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gimme-tools/carapace/core/service/file"
)

var fileStatVerb = fileVerb{
	name:  "stat",
	usage: "carapace file stat PATH [--json]",
	help:  "show a file's type, size, mode and modification time",
	exec:  fileStat,
}

func fileStat(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("stat", args, 1, 1, "carapace file stat ~/Documents/a.txt"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	var e file.Entry
	if err := f.fileCall(ctx, "file.stat", map[string]string{"path": p}, &e, "GET:"+p); err != nil {
		return err
	}
	if f.json {
		return printJSON(os.Stdout, e)
	}
	fmt.Printf("path: %s\ntype: %s\nsize: %d\nmode: %s\nmtime: %s\n", e.Path, e.Type, e.Size, e.Mode, e.Mtime)
	if e.Target != "" {
		fmt.Printf("target: %s\n", e.Target)
	}
	return nil
}
