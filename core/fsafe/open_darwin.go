package fsafe

import "golang.org/x/sys/unix"

const (
	oDir     = unix.O_RDONLY
	noFollow = unix.O_NOFOLLOW | unix.O_NOFOLLOW_ANY
)

func init() { fastOpen = openNoFollowAny }

// openNoFollowAny resolves rel in one call with O_NOFOLLOW_ANY (macOS 11+):
// the kernel refuses a link in any component. rel is clean (no ".."), so
// without links it cannot leave dirfd; a name that holds a link goes to the
// walk.
func openNoFollowAny(dirfd int, rel string, flag int, mode uint32) (int, error) {
	fd, err := unix.Openat(dirfd, rel, flag|unix.O_NOFOLLOW_ANY, mode)
	switch err {
	case nil:
		return fd, nil
	case unix.ELOOP, unix.EINVAL, unix.ENOTDIR:
		// EINVAL: a kernel older than macOS 11 rejects the flag.
		return -1, errNoFast
	}
	return -1, err
}

func renameNoReplace(olddir int, oldname string, newdir int, newname string) error {
	return unix.RenameatxNp(olddir, oldname, newdir, newname, unix.RENAME_EXCL)
}
