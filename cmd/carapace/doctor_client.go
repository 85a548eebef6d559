package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/rundir"
)

// clientChecks report what protects this CLI from a router impostor:
// whether the kernel tells it who serves a socket, who served the one it
// reached, and whether a dev runtime directory lying around is private.
func clientChecks(ctx context.Context, f *clientFlags) []check {
	out := []check{identityCheck(ctx, f)}
	for _, d := range rundir.Dirs() {
		if c, ok := runtimeDirCheck(d); ok {
			out = append(out, c)
		}
	}
	return out
}

func identityCheck(ctx context.Context, f *clientFlags) check {
	c := check{Name: "router identity checked"}
	if !peer.Available() {
		c.Detail = "this platform cannot report who serves a Unix socket, so the CLI refuses every router socket"
		c.Fix = "on macOS pass --socket xpc:com.gimme.local.router; elsewhere Carapace has no client here"
		return c
	}
	ctx, cancel := f.context(ctx)
	defer cancel()
	sock := client.Socket(f.socket)
	cl, err := client.Dial(ctx, sock)
	if err != nil {
		if errs.Match(errs.E(errs.ReasonRouterDown), err) || errs.Match(errs.E(errs.ReasonPermissionDenied), err) {
			c.OK, c.Detail = true, "peer credentials are checked before anything is sent (no router to check now)"
			return c
		}
		c.Detail, c.Fix = err.Error(), hintOf(err)
		return c
	}
	defer cl.Close()
	cr, ok := cl.Server()
	if !ok {
		c.OK, c.Detail = true, sock+": the XPC bridge pins the router's code signature"
		return c
	}
	who := "uid " + strconv.Itoa(cr.UID)
	switch cr.UID {
	case os.Geteuid():
		who += " (you)"
	case 0:
		who += " (root: systemd's socket unit)"
	default:
		who += " (" + client.RouterUser + ")"
	}
	c.OK, c.Detail = true, sock+" is served by "+who+", checked with the kernel's peer credentials before anything was sent"
	return c
}

// runtimeDirCheck checks a dev runtime directory that exists; ok is false
// when there is none.
func runtimeDirCheck(dir string) (check, bool) {
	c := check{Name: "dev runtime dir " + dir}
	err := rundir.Check(dir, os.Geteuid())
	switch {
	case errs.Is(errs.NotFound, err) || errors.Is(err, fs.ErrNotExist):
		return c, false
	case err != nil:
		c.Detail, c.Fix = err.Error(), errs.HintOf(err)
		return c, true
	}
	c.OK, c.Detail = true, "yours, mode 0700, no symbolic link, parents only you or root can change"
	return c, true
}
