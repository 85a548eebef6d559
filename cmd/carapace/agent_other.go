//go:build !linux

package main

import (
	"errors"
	"os/exec"

	"github.com/gimme-tools/carapace/core/errs"
)

// startConfined refuses where the router cannot tell a confined process
// from the owner (core/peer reports Confined on Linux only): an agent
// started here would be the owner, so carapace agent fails closed.
func startConfined(*exec.Cmd) error {
	return errs.E("agent", errs.Unavailable, errs.ReasonUnsupported,
		errs.Hint("carapace agent needs Linux's no_new_privs; on this system give the agent handed tokens (carapace mcp --token-file) and know that it runs as you"),
		errors.ErrUnsupported)
}
