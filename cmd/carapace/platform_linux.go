package main

import (
	// The Linux sandbox sets core/sandbox's hooks (Wrap, ConfineSelf).
	linuxsandbox "github.com/gimme-tools/carapace/linux/sandbox"
)

// sandboxExec runs `carapace sandbox-exec --spec S -- CMD ARGS…`: the
// helper the code service wraps every command in.
func sandboxExec(args []string) int { return linuxsandbox.ExecMain(args) }
