package main

import (
	"context"
	"flag"
	"path/filepath"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/stack"
)

// stackFlags find the running stack, the same way for every command that
// talks to it or reads its state: --socket names the router's socket,
// --runtime-dir a dev stack's runtime directory (as given to
// `carapace dev --runtime-dir`), whose router.sock it is. TestStackFlags
// holds every such command to both.
type stackFlags struct {
	socket     string
	runtimeDir string
}

func (f *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.socket, "socket", "", "router socket (default: $GIMME_SOCKET, else the first of $XDG_RUNTIME_DIR/carapace/router.sock, "+client.SystemSocket+", $TMPDIR/carapace-$UID/router.sock that exists; docs/client.md)")
	fs.StringVar(&f.runtimeDir, "runtime-dir", "", "a dev stack's runtime directory (carapace dev --runtime-dir): its router.sock and state")
}

// path returns the router socket the flags choose.
func (f *stackFlags) path() (string, error) {
	switch {
	case f.socket != "" && f.runtimeDir != "" && filepath.Clean(f.socket) != stack.RouterSocket(filepath.Clean(f.runtimeDir)):
		return "", usage("give one of them", "--socket %s is not in --runtime-dir %s", f.socket, f.runtimeDir)
	case f.runtimeDir != "":
		return stack.RouterSocket(f.runtimeDir), nil
	}
	return client.Socket(f.socket), nil
}

// dialPath connects to the router the flags choose.
func dialPath(ctx context.Context, f *stackFlags) (*client.Client, error) {
	sock, err := f.path()
	if err != nil {
		return nil, err
	}
	return client.Dial(ctx, sock)
}
