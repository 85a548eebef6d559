//go:build !darwin

package install

import (
	"errors"
	"fmt"
)

// ReadAccounts needs dscl: darwin only. Elsewhere Options keeps what the
// caller filled in (a dry run on Linux plans with no existing accounts).
func ReadAccounts(*Options) error { return nil }

// Apply carries out a plan: darwin only. Print the plan with --dry-run
// to review it elsewhere.
func Apply([]Step) error {
	return fmt.Errorf("apply the macOS plan: %w (run it on the Mac; --dry-run prints it here)", errors.ErrUnsupported)
}
