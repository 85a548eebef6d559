//go:build freebsd || netbsd || openbsd

package fsafe

import "golang.org/x/sys/unix"

const (
	oDir     = unix.O_RDONLY
	noFollow = unix.O_NOFOLLOW
)

// renameNoReplace links the new name (which fails if it exists) and then
// removes the old one. It works for files and links, not for directories.
func renameNoReplace(olddir int, oldname string, newdir int, newname string) error {
	if err := unix.Linkat(olddir, oldname, newdir, newname, 0); err != nil {
		return err
	}
	return unix.Unlinkat(olddir, oldname, 0)
}
