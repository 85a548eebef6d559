//go:build linux || darwin || freebsd || netbsd || openbsd

package fsafe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// errNoFast tells the walker that the one-call fast path cannot answer
// (the name holds a symbolic link, or the kernel lacks the call).
var errNoFast = errors.New("fsafe: fast path unavailable")

// walkOnly forces every resolution through the component walk; tests set
// it to cover the path old kernels and other systems take.
var walkOnly atomic.Bool

// ForceWalk makes every resolution use the O_NOFOLLOW component walk
// instead of the kernel's one-call resolution, and returns a function that
// restores the previous setting. It exists for tests.
func ForceWalk(on bool) (restore func()) {
	old := walkOnly.Swap(on)
	return func() { walkOnly.Store(old) }
}

// Root is an allowed folder, held open as a directory descriptor.
type Root struct {
	path string
	fd   int
}

// OpenRoot opens the directory at path, an absolute path, as a Root.
// Links in path itself are followed: the owner chose it.
func OpenRoot(path string) (*Root, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("open root %q: not an absolute path", path)
	}
	fd, err := unix.Open(path, oDir|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open root", Path: path, Err: err}
	}
	return &Root{path: cleanSlash(path), fd: fd}, nil
}

// Path returns the root's absolute path, cleaned.
func (r *Root) Path() string { return r.path }

// Close closes the root's descriptor.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Open opens the file at rel with flag (os.O_RDONLY, os.O_WRONLY|os.O_APPEND,
// …), following symbolic links that stay inside the root. O_NONBLOCK and
// O_NOCTTY are always added, so opening a FIFO or a terminal cannot block or
// take a controlling terminal; callers check the type with Stat.
func (r *Root) Open(rel string, flag int, check Check) (*os.File, error) {
	fd, name, err := r.open(rel, flag, check)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// OpenFD is Open returning the bare descriptor, which the caller closes:
// for a short-lived read, it spares the two system calls an *os.File
// costs (its mode check and its registration with the poller).
func (r *Root) OpenFD(rel string, flag int, check Check) (int, error) {
	fd, _, err := r.open(rel, flag, check)
	return fd, err
}

func (r *Root) open(rel string, flag int, check Check) (int, string, error) {
	flag |= unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	if rel == "" {
		fd, err := unix.Openat(r.fd, ".", flag, 0)
		return openResult(fd, r.path, err)
	}
	if !IsValidRel(rel) {
		return -1, "", ErrInvalid
	}
	if !walkOnly.Load() && fastOpen != nil {
		fd, err := fastOpen(r.fd, rel, flag, 0)
		if err != errNoFast {
			return openResult(fd, path.Join(r.path, rel), err)
		}
	}
	w, err := r.walk(rel, check, func(dir int, name string) (int, error) {
		return unix.Openat(dir, name, flag|noFollow, 0)
	})
	if err != nil {
		return -1, "", err
	}
	unix.Close(w.dir)
	return w.fd, path.Join(r.path, w.rel()), nil
}

// Lstat describes rel without following a link at its last component;
// links in its directory part are followed as Parent follows them. A name
// directly in the root costs one fstatat.
func (r *Root) Lstat(rel string, check Check) (Info, error) {
	if rel != "" && IsValidRel(rel) && !strings.Contains(rel, "/") {
		var st unix.Stat_t
		if err := unix.Fstatat(r.fd, rel, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return Info{}, &fs.PathError{Op: "lstat", Path: path.Join(r.path, rel), Err: err}
		}
		return infoFromStat(rel, &st), nil
	}
	d, name, err := r.Parent(rel, check)
	if err != nil {
		return Info{}, err
	}
	defer d.Close()
	return d.Lstat(name)
}

// OpenDir opens the directory at rel ("" for the root), following symbolic
// links that stay inside the root.
func (r *Root) OpenDir(rel string, check Check) (*Dir, error) {
	fd, name, err := r.open(rel, unix.O_RDONLY|unix.O_DIRECTORY, check)
	if err != nil {
		return nil, err
	}
	return &Dir{dfd: fd, name: name}, nil
}

// Parent opens the directory that holds rel, following symbolic links in
// rel's directory part that stay inside the root, and returns it with rel's
// last component. The last component itself is not looked at: the caller
// acts on the name with the Dir's methods, which never follow it. Check
// sees each place a link leads with the last component appended.
func (r *Root) Parent(rel string, check Check) (*Dir, string, error) {
	if rel == "" || !IsValidRel(rel) {
		return nil, "", ErrInvalid
	}
	dirRel, name := path.Split(rel)
	dirRel = strings.TrimSuffix(dirRel, "/")
	var full Check
	if check != nil {
		// The caller acts on name in the directory a link led to: check
		// the whole path it reaches, not only the directory.
		full = func(dir string) error { return check(strings.TrimPrefix(dir+"/"+name, "/")) }
	}
	d, err := r.OpenDir(dirRel, full)
	if err != nil {
		return nil, "", err
	}
	return d, name, nil
}

// walked is the outcome of a walk: the last directory reached, the
// components that led there, the last name and its descriptor.
type walked struct {
	dir  int
	done []string
	name string
	fd   int
}

func (w walked) rel() string {
	return strings.Join(append(append([]string{}, w.done...), w.name), "/")
}

// walk resolves rel one component at a time from the root: every directory
// is opened with O_NOFOLLOW relative to the previous one, and last opens the
// final name. A component that turns out to be a symbolic link is read, its
// target joined lexically to the directory it sits in, checked, and the
// walk starts again from the root with the new path, at most MaxHops times.
func (r *Root) walk(rel string, check Check, last func(dir int, name string) (int, error)) (walked, error) {
	todo := split(rel)
	var done []string
	dir, err := dupCloexec(r.fd)
	if err != nil {
		return walked{}, err
	}
	for hops := 0; ; {
		name := todo[0]
		var fd int
		if len(todo) == 1 {
			fd, err = last(dir, name)
		} else {
			fd, err = unix.Openat(dir, name, oDir|unix.O_DIRECTORY|noFollow|unix.O_CLOEXEC, 0)
		}
		if err == nil {
			if len(todo) == 1 {
				return walked{dir: dir, done: done, name: name, fd: fd}, nil
			}
			unix.Close(dir)
			dir, done, todo = fd, append(done, name), todo[1:]
			continue
		}
		next, lerr := r.follow(dir, done, name, err)
		unix.Close(dir)
		if lerr != nil {
			return walked{}, lerr
		}
		if hops++; hops > MaxHops {
			return walked{}, &fs.PathError{Op: "open", Path: path.Join(r.path, rel), Err: unix.ELOOP}
		}
		next = strings.Trim(next+"/"+strings.Join(todo[1:], "/"), "/")
		if check != nil {
			if err := check(next); err != nil {
				return walked{}, err
			}
		}
		if next == "" {
			next = "."
		}
		todo, done = split(next), nil
		if dir, err = dupCloexec(r.fd); err != nil {
			return walked{}, err
		}
	}
}

// follow reports where the link name in dir leads, given the error opening
// it with O_NOFOLLOW gave; if name is not a link, that error is returned.
func (r *Root) follow(dir int, done []string, name string, openErr error) (string, error) {
	p := path.Join(r.path, strings.Join(done, "/"), name)
	if !isLinkErr(openErr) {
		return "", &fs.PathError{Op: "open", Path: p, Err: openErr}
	}
	target, err := readlinkat(dir, name)
	if err != nil {
		// Not a link after all (a file where a directory was wanted), or
		// it vanished: report the original failure.
		return "", &fs.PathError{Op: "open", Path: p, Err: openErr}
	}
	next, ok := joinLink(r.path, done, target)
	if !ok {
		return "", fmt.Errorf("%s -> %s: %w", p, target, ErrEscape)
	}
	return next, nil
}

// isLinkErr reports whether err is what opening a symbolic link with
// O_NOFOLLOW gives: ELOOP (Linux, darwin), EMLINK (FreeBSD), ENOTDIR
// (Linux O_PATH|O_DIRECTORY on a link).
func isLinkErr(err error) bool {
	return err == unix.ELOOP || err == unix.EMLINK || err == unix.ENOTDIR
}

func readlinkat(dir int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= 1<<16 {
			return "", unix.ENAMETOOLONG
		}
		buf = make([]byte, 2*len(buf))
	}
}

func dupCloexec(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

func openResult(fd int, name string, err error) (int, string, error) {
	if err != nil {
		if err == ErrEscape || errors.Is(err, ErrEscape) {
			return -1, "", err
		}
		return -1, "", &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return fd, name, nil
}

func infoFromStat(name string, st *unix.Stat_t) Info {
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if st.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if st.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return Info{
		Name:    name,
		Mode:    mode,
		Size:    st.Size,
		ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
		Nlink:   uint64(st.Nlink),
	}
}

// StatFD returns the Info of the open descriptor fd, named name.
func StatFD(fd int, name string) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Info{}, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	return infoFromStat(path.Base(name), &st), nil
}

// Stat returns f's Info, from fstat on its descriptor.
func Stat(f *os.File) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Info{}, &fs.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return infoFromStat(path.Base(f.Name()), &st), nil
}
