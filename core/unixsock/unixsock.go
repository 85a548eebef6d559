// Package unixsock creates the Unix sockets Carapace listens on, safely:
// never over a live socket, never leaving a stale one in the way, with the
// mode set before anyone can connect.
package unixsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// Listen listens on a Unix stream socket at path with the given mode.
//
// If something already answers at path, Listen fails with kind
// Unavailable and reason "already_running": another instance owns it. A
// socket file nobody answers on is stale and is removed. A path that
// exists and is not a socket is never removed.
func Listen(path string, mode os.FileMode) (net.Listener, error) {
	op := "listen " + path
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errs.E(op, errs.Failed, errs.ReasonNotASocket,
				errs.Hint("move the file at "+path+" away; Carapace will not remove a file that is not a socket"))
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, errs.E(op, errs.Unavailable, errs.ReasonAlreadyRunning,
				errs.Hint("another carapace is already serving "+path+"; stop it first, or use another --runtime-dir"))
		} else if !isStale(err) {
			return nil, errs.E(op, errs.Failed, fmt.Errorf("probe existing socket: %w", err))
		}
		if err := os.Remove(path); err != nil {
			return nil, errs.E(op, errs.Failed, fmt.Errorf("remove stale socket: %w", err))
		}
	}
	// Create the socket with no permissions for anyone but the owner, then
	// widen to mode: a connect between bind and chmod finds no access.
	old := syscall.Umask(0o177)
	l, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, mode); err != nil {
		l.Close()
		return nil, errs.E(op, errs.Failed, err)
	}
	return l, nil
}

// isStale reports whether a dial error means nobody listens at the path.
func isStale(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
