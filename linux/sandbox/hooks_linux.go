//go:build linux

package sandbox

import (
	"os"
	"path/filepath"

	"github.com/gimme-tools/carapace/core/sandbox"
)

func init() {
	sandbox.Wrap = wrap
	sandbox.Warm = warmHelper
	sandbox.SetAvailable(available)
	sandbox.ConfineSelf = confineSelf
	sandbox.ServiceCgroup = ServiceCgroup
}

// HelperName is the slim helper binary's file name. Wrap uses it when it
// lies in the same directory as the running executable.
const HelperName = "carapace-sandbox"

// wrap returns [helper, "sandbox-exec", "--spec", S, "--", argv...], where
// helper is the slim carapace-sandbox next to the running executable if
// there is one, else the running executable itself.
func wrap(spec sandbox.Spec, argv []string) ([]string, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	exe, err := helperPath()
	if err != nil {
		return nil, err
	}
	return append([]string{exe, "sandbox-exec", "--spec", spec.Encode(), "--"}, argv...), nil
}

// helperPath returns the binary that runs sandbox-exec: carapace-sandbox
// from the running executable's directory (it starts ~4× faster than the
// full carapace binary), or the running executable, whose sandbox-exec
// subcommand is the same ExecMain.
func helperPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return helperNextTo(exe), nil
}

// helperNextTo returns the carapace-sandbox beside exe when it is an
// executable file, else exe.
func helperNextTo(exe string) string {
	slim := filepath.Join(filepath.Dir(exe), HelperName)
	if st, err := os.Stat(slim); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return slim
	}
	return exe
}

// available reports the Landlock ABI and whether both Landlock and seccomp
// filters are there.
func available() (int, bool) {
	abi := landlockABI()
	return abi, abi >= 1 && seccompSupported()
}
