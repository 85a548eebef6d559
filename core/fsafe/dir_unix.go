//go:build linux || darwin || freebsd || netbsd || openbsd

package fsafe

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is an open directory beneath a Root. Its methods take a single name
// (no slash, not "." or "..") and never follow a symbolic link at that name.
//
// It holds a bare descriptor, not an *os.File: making one costs an fcntl
// and an epoll_ctl (the poller's registration, refused for a directory),
// and reading its names an lseek, where a listing's directory is opened,
// read once and closed. Close every Dir: unlike an *os.File's, a lost
// Dir's descriptor has no finalizer to close it.
type Dir struct {
	dfd  int
	name string
	read bool // Names has read the entries: the offset is past them
}

// Name returns the path the directory was opened as (for messages only).
func (d *Dir) Name() string { return d.name }

// Close closes the directory.
func (d *Dir) Close() error {
	if d.dfd < 0 {
		return fs.ErrClosed
	}
	err := unix.Close(d.dfd)
	d.dfd = -1
	return err
}

func (d *Dir) fd() int { return d.dfd }

func (d *Dir) err(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: path.Join(d.name, name), Err: err}
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// Stat describes the directory itself.
func (d *Dir) Stat() (Info, error) { return StatFD(d.dfd, d.name) }

// Lstat describes name without following it if it is a link.
func (d *Dir) Lstat(name string) (Info, error) {
	if !validName(name) {
		return Info{}, d.err("lstat", name, ErrInvalid)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Info{}, d.err("lstat", name, err)
	}
	return infoFromStat(name, &st), nil
}

// Names returns the directory's entry names, unsorted, without "." and "..".
func (d *Dir) Names() ([]string, error) {
	if d.read {
		if _, err := unix.Seek(d.dfd, 0, 0); err != nil {
			return nil, d.err("seek", "", err)
		}
	}
	d.read = true
	names, err := readNames(d.dfd, d.name)
	if err != nil {
		return nil, d.err("readdirent", "", err)
	}
	return names, nil
}

// OpenFile opens name with flag and, when creating, perm. A link at name is
// not followed: the open fails.
func (d *Dir) OpenFile(name string, flag int, perm uint32) (*os.File, error) {
	if !validName(name) {
		return nil, d.err("open", name, ErrInvalid)
	}
	fd, err := unix.Openat(d.fd(), name, flag|noFollow|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, d.err("open", name, err)
	}
	return os.NewFile(uintptr(fd), path.Join(d.name, name)), nil
}

// OpenDir opens the directory name; a link at name is not followed.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	if !validName(name) {
		return nil, d.err("open", name, ErrInvalid)
	}
	fd, err := unix.Openat(d.dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|noFollow|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", name, err)
	}
	return &Dir{dfd: fd, name: path.Join(d.name, name)}, nil
}

// Mkdir makes the directory name with perm (less the umask).
func (d *Dir) Mkdir(name string, perm uint32) error {
	if !validName(name) {
		return d.err("mkdir", name, ErrInvalid)
	}
	if err := unix.Mkdirat(d.fd(), name, perm); err != nil {
		return d.err("mkdir", name, err)
	}
	return nil
}

// Remove unlinks name: a file or a link (never the link's target), or, with
// dir set, an empty directory.
func (d *Dir) Remove(name string, dir bool) error {
	if !validName(name) {
		return d.err("remove", name, ErrInvalid)
	}
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	if err := unix.Unlinkat(d.fd(), name, flags); err != nil {
		return d.err("remove", name, err)
	}
	return nil
}

// Readlink returns the target text of the link name.
func (d *Dir) Readlink(name string) (string, error) {
	if !validName(name) {
		return "", d.err("readlink", name, ErrInvalid)
	}
	t, err := readlinkat(d.fd(), name)
	if err != nil {
		return "", d.err("readlink", name, err)
	}
	return t, nil
}

// Sync flushes the directory's entries to stable storage, so a rename or a
// new file in it survives a crash.
func (d *Dir) Sync() error {
	for {
		err := syncFD(d.dfd)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return d.err("sync", "", err)
		}
		return nil
	}
}

// CreateTemp creates a new file named prefix followed by random characters
// and ".tmp", opened for writing with perm, and returns it with its name.
func (d *Dir) CreateTemp(prefix string, perm uint32) (*os.File, string, error) {
	for range 16 {
		var b [8]byte
		rand.Read(b[:])
		name := prefix + hex.EncodeToString(b[:]) + ".tmp"
		f, err := d.OpenFile(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, perm)
		if err == nil || !os.IsExist(err) {
			return f, name, err
		}
	}
	return nil, "", d.err("create temp", prefix, unix.EEXIST)
}

// Rename renames fromName in from to toName in to. Without replace it fails
// with an error satisfying os.IsExist if toName exists, atomically.
func Rename(from *Dir, fromName string, to *Dir, toName string, replace bool) error {
	if !validName(fromName) || !validName(toName) {
		return from.err("rename", fromName, ErrInvalid)
	}
	var err error
	if replace {
		err = unix.Renameat(from.fd(), fromName, to.fd(), toName)
	} else {
		err = renameNoReplace(from.fd(), fromName, to.fd(), toName)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: path.Join(from.name, fromName), New: path.Join(to.name, toName), Err: err}
	}
	return nil
}
