//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package fsafe

import (
	"errors"
	"os"
)

// This system has no descriptor-relative file calls fsafe trusts: every
// operation fails with errors.ErrUnsupported, so a service built here
// refuses rather than falls back to path strings.

// ForceWalk has no effect on this system.
func ForceWalk(on bool) (restore func()) { return func() {} }

// Root is unsupported on this system.
type Root struct{ path string }

// OpenRoot fails with errors.ErrUnsupported.
func OpenRoot(path string) (*Root, error) { return nil, errors.ErrUnsupported }

// Path returns the root's path.
func (r *Root) Path() string { return r.path }

// Close does nothing.
func (r *Root) Close() error { return nil }

// Open fails with errors.ErrUnsupported.
func (r *Root) Open(rel string, flag int, check Check) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

// OpenFD fails with errors.ErrUnsupported.
func (r *Root) OpenFD(rel string, flag int, check Check) (int, error) {
	return -1, errors.ErrUnsupported
}

// Lstat fails with errors.ErrUnsupported.
func (r *Root) Lstat(rel string, check Check) (Info, error) { return Info{}, errors.ErrUnsupported }

// StatFD fails with errors.ErrUnsupported.
func StatFD(fd int, name string) (Info, error) { return Info{}, errors.ErrUnsupported }

// OpenDir fails with errors.ErrUnsupported.
func (r *Root) OpenDir(rel string, check Check) (*Dir, error) { return nil, errors.ErrUnsupported }

// Parent fails with errors.ErrUnsupported.
func (r *Root) Parent(rel string, check Check) (*Dir, string, error) {
	return nil, "", errors.ErrUnsupported
}

// Stat fails with errors.ErrUnsupported.
func Stat(f *os.File) (Info, error) { return Info{}, errors.ErrUnsupported }

// Dir is unsupported on this system.
type Dir struct{}

// Name returns "".
func (d *Dir) Name() string { return "" }

// Close does nothing.
func (d *Dir) Close() error { return nil }

// Stat fails with errors.ErrUnsupported.
func (d *Dir) Stat() (Info, error) { return Info{}, errors.ErrUnsupported }

// Lstat fails with errors.ErrUnsupported.
func (d *Dir) Lstat(name string) (Info, error) { return Info{}, errors.ErrUnsupported }

// Names fails with errors.ErrUnsupported.
func (d *Dir) Names() ([]string, error) { return nil, errors.ErrUnsupported }

// OpenFile fails with errors.ErrUnsupported.
func (d *Dir) OpenFile(name string, flag int, perm uint32) (*os.File, error) {
	return nil, errors.ErrUnsupported
}

// OpenFD fails with errors.ErrUnsupported.
func (r *Root) OpenFD(rel string, flag int, check Check) (int, error) {
	return -1, errors.ErrUnsupported
}

// Lstat fails with errors.ErrUnsupported.
func (r *Root) Lstat(rel string, check Check) (Info, error) { return Info{}, errors.ErrUnsupported }

// StatFD fails with errors.ErrUnsupported.
func StatFD(fd int, name string) (Info, error) { return Info{}, errors.ErrUnsupported }

// OpenDir fails with errors.ErrUnsupported.
func (d *Dir) OpenDir(name string) (*Dir, error) { return nil, errors.ErrUnsupported }

// Mkdir fails with errors.ErrUnsupported.
func (d *Dir) Mkdir(name string, perm uint32) error { return errors.ErrUnsupported }

// Remove fails with errors.ErrUnsupported.
func (d *Dir) Remove(name string, dir bool) error { return errors.ErrUnsupported }

// Readlink fails with errors.ErrUnsupported.
func (d *Dir) Readlink(name string) (string, error) { return "", errors.ErrUnsupported }

// Sync fails with errors.ErrUnsupported.
func (d *Dir) Sync() error { return errors.ErrUnsupported }

// CreateTemp fails with errors.ErrUnsupported.
func (d *Dir) CreateTemp(prefix string, perm uint32) (*os.File, string, error) {
	return nil, "", errors.ErrUnsupported
}

// Rename fails with errors.ErrUnsupported.
func Rename(from *Dir, fromName string, to *Dir, toName string, replace bool) error {
	return errors.ErrUnsupported
}
