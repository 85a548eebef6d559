package fsafe

import (
	"os"
	"path"
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenTmpfile opens an unnamed regular file in the directory (O_TMPFILE),
// for reading and writing, with perm: nobody can open it by a name until
// Link gives it one, and it vanishes when its last descriptor closes.
func (d *Dir) OpenTmpfile(perm uint32) (*os.File, error) {
	fd, err := unix.Openat(d.fd(), ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, d.err("open tmpfile", "", err)
	}
	return os.NewFile(uintptr(fd), path.Join(d.name, "(tmpfile)")), nil
}

// Link gives f, a file OpenTmpfile made in this directory, the name name
// in it. It fails with an error satisfying os.IsExist if name exists.
// linkat with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on kernels before
// 6.10 (later ones let the file's opener link it); without it the file's
// /proc/self/fd link names it instead.
func (d *Dir) Link(f *os.File, name string) error {
	if !validName(name) {
		return d.err("link", name, ErrInvalid)
	}
	fd := int(f.Fd())
	err := unix.Linkat(fd, "", d.fd(), name, unix.AT_EMPTY_PATH)
	if err == unix.ENOENT || err == unix.EPERM {
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), d.fd(), name, unix.AT_SYMLINK_FOLLOW)
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: path.Join(d.name, name), Err: err}
	}
	return nil
}
