package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
)

var fileMkdirVerb = fileVerb{
	name:  "mkdir",
	usage: "carapace file mkdir PATH [-p] [--json]",
	help:  "make a directory",
	flags: []string{"p"},
	exec:  fileMkdir,
}

func fileMkdir(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("mkdir", args, 1, 1, "carapace file mkdir -p ~/Documents/a/b"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	var res struct {
		Path string `json:"path"`
	}
	if err := f.fileCall(ctx, "file.mkdir", map[string]any{"path": p, "parents": f.parents}, &res, mkdirScopes(&f.cf, p, f.parents)...); err != nil {
		return err
	}
	return f.printPath(res.Path)
}

// printPath prints the path an operation touched (JSON with --json, else
// only with -v).
func (f *fileFlags) printPath(p string) error {
	switch {
	case f.json:
		return printJSON(os.Stdout, map[string]string{"path": p})
	case f.verbose:
		fmt.Fprintln(os.Stderr, p)
	}
	return nil
}

// mkdirScopes is what mkdir needs: PUT on the directory and, with
// parents, on each ancestor it may create inside an allowed folder (the
// owner cannot mint beyond the folders, so ancestors outside are left out).
func mkdirScopes(cf *configFlags, p string, parents bool) []string {
	out := []string{"PUT:" + p}
	if !parents {
		return out
	}
	st, err := cf.load(true)
	if err != nil {
		return out
	}
	abs := config.ExpandHome(p, st.OwnerHome)
	for dir := filepath.Dir(abs); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		for _, f := range st.Owner.Services.File.Paths {
			if dir != f.Path && strings.HasPrefix(dir, f.Path+"/") {
				out = append(out, "PUT:"+dir)
			}
		}
	}
	return out
}
