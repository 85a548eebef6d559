//go:build linux

// Command carapace-sandbox is the sandbox helper on its own: the same
// ExecMain as "carapace sandbox-exec", in a binary that links only the
// sandbox, so that it starts in a fraction of the time the full carapace
// binary takes (fewer package initialisers, fewer pages to fault in).
// core/sandbox's Wrap uses it when it lies next to the running carapace;
// see docs/sandbox.md.
//
//	carapace-sandbox [sandbox-exec] [--stage2] --spec SPEC -- COMMAND [ARGS…]
package main

import (
	"os"

	"github.com/gimme-tools/carapace/linux/sandbox"
)

func main() {
	args := os.Args[1:]
	// The second stage re-executes the running binary with carapace's
	// argv shape; accept it.
	if len(args) > 0 && args[0] == "sandbox-exec" {
		args = args[1:]
	}
	os.Exit(sandbox.ExecMain(args))
}
