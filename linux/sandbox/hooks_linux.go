//go:build linux

package sandbox

import (
	"os"

	"github.com/gimme-tools/carapace/core/sandbox"
)

func init() {
	sandbox.Wrap = wrap
	sandbox.SetAvailable(available)
	sandbox.ConfineSelf = confineSelf
}

// wrap returns [exe, "sandbox-exec", "--spec", S, "--", argv...].
func wrap(spec sandbox.Spec, argv []string) ([]string, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return append([]string{exe, "sandbox-exec", "--spec", spec.Encode(), "--"}, argv...), nil
}

// available reports the Landlock ABI and whether both Landlock and seccomp
// filters are there.
func available() (int, bool) {
	abi := landlockABI()
	return abi, abi >= 1 && seccompSupported()
}
