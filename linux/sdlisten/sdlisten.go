// Package sdlisten takes the listening socket systemd hands a
// socket-activated service (sd_listen_fds(3)): the socket unit made it,
// as root, with its final owner, group and mode, and keeps it open while
// the service restarts.
package sdlisten

import (
	"fmt"
	"net"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

// Listener returns the socket systemd passed under name (the socket
// unit's FileDescriptorName=), or nil when the process was not started by
// socket activation. It consumes the LISTEN_* environment, so call it
// once per process.
func Listener(name string) (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") == "" {
		return nil, nil
	}
	byName, err := activation.ListenersWithNames()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	ls := byName[name]
	if len(ls) != 1 || ls[0] == nil {
		return nil, fmt.Errorf("socket activation: want one stream socket named %q, got %d (check FileDescriptorName= in the socket unit)", name, len(ls))
	}
	return ls[0], nil
}

// Listen returns the socket systemd passed under name when there is one,
// and otherwise makes its own with fallback(path, mode), as `carapace
// dev` and a manual `carapace serve` do.
func Listen(name, path string, mode os.FileMode, fallback func(string, os.FileMode) (net.Listener, error)) (net.Listener, error) {
	l, err := Listener(name)
	if err != nil || l != nil {
		return l, err
	}
	return fallback(path, mode)
}
