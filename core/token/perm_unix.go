//go:build unix

package token

import (
	"fmt"
	"os"
	"syscall"

	"github.com/gimme-tools/carapace/core/errs"
)

// checkPrivate refuses a key file others can read or another user owns.
func checkPrivate(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return errs.E("token.devicekey", errs.Failed, errs.ReasonKeyPermissions,
			errs.Hint("run: chmod 600 "+path),
			fmt.Errorf("%s has mode %v; it must be readable by its owner only", path, fi.Mode().Perm()))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errs.E("token.devicekey", errs.Failed, errs.ReasonKeyPermissions,
			errs.Hint("the key must belong to the user the router runs as: chown it"),
			fmt.Errorf("%s is owned by uid %d, not %d", path, st.Uid, os.Geteuid()))
	}
	return nil
}
