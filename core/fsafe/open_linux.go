package fsafe

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const (
	// oDir opens a directory only to resolve names beneath it.
	oDir = unix.O_PATH
	// noFollow refuses a link at the last component of a name.
	noFollow = unix.O_NOFOLLOW
)

// noOpenat2 is set once openat2 has answered ENOSYS (Linux before 5.6, or a
// seccomp filter that refuses it).
var noOpenat2 atomic.Bool

func init() { fastOpen = openat2 }

// openat2 resolves rel in one call with RESOLVE_BENEATH (no "..", absolute
// link or mount jump above dirfd), RESOLVE_NO_MAGICLINKS (no /proc/*/fd
// links) and RESOLVE_NO_SYMLINKS: a name that holds any link is handed to
// the walk, which follows in-root links after the caller's Check has seen
// each target.
func openat2(dirfd int, rel string, flag int, mode uint32) (int, error) {
	if noOpenat2.Load() {
		return -1, errNoFast
	}
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   uint64(flag) | unix.O_NOFOLLOW,
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS,
	})
	switch err {
	case nil:
		return fd, nil
	case unix.ENOSYS, unix.EPERM:
		// EPERM: some container seccomp profiles refuse unknown calls so.
		if err == unix.ENOSYS {
			noOpenat2.Store(true)
		}
		return -1, errNoFast
	case unix.ELOOP, unix.EAGAIN, unix.ENOTDIR:
		// ENOTDIR: O_DIRECTORY|O_NOFOLLOW on a link; the walk tells them apart.
		return -1, errNoFast
	case unix.EXDEV:
		return -1, ErrEscape
	}
	return -1, err
}

func renameNoReplace(olddir int, oldname string, newdir int, newname string) error {
	return unix.Renameat2(olddir, oldname, newdir, newname, unix.RENAME_NOREPLACE)
}
