package main

import (
	"context"
	"net"
	"strings"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/xpcbridge"
)

// The macOS transport: the CLI and the router reach Mach services through
// the XPC bridge. Elsewhere (and without cgo) xpcbridge answers
// errors.ErrUnsupported, with a hint.
func init() {
	client.DialXPC = func(_ context.Context, name string) (net.Conn, error) {
		return xpcbridge.Dial(name, xpcbridge.ServerRequirement(xpcbridge.TeamID))
	}
}

// machListener listens on a launchd Mach service for service svc, admitting
// only peers signed by our Team ID with svc's capability entitlement.
func machListener(name, svc string) (net.Listener, error) {
	return xpcbridge.Listen(name, xpcbridge.Requirement(xpcbridge.TeamID, svc))
}

// dialBackend reaches a service: "xpc:<Mach service>" over XPC, anything
// else as a Unix socket path.
func dialBackend(ctx context.Context, addr string) (net.Conn, error) {
	if name, ok := strings.CutPrefix(addr, client.XPCPrefix); ok {
		return xpcbridge.Dial(name, xpcbridge.ServerRequirement(xpcbridge.TeamID))
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}
