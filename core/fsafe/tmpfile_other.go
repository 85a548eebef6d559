//go:build !linux

package fsafe

import (
	"errors"
	"os"
)

// OpenTmpfile fails with errors.ErrUnsupported: only Linux has O_TMPFILE.
func (d *Dir) OpenTmpfile(perm uint32) (*os.File, error) { return nil, errors.ErrUnsupported }

// Link fails with errors.ErrUnsupported.
func (d *Dir) Link(f *os.File, name string) error { return errors.ErrUnsupported }
