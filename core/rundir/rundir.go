// Package rundir decides whether a directory that holds Carapace's sockets
// and state can be trusted: nobody but its user (and root) may be able to
// change it, or any directory above it, or what is in it.
//
// A dev stack keeps its runtime directory at $XDG_RUNTIME_DIR/carapace or,
// without one, at /tmp/carapace-<uid>. The second is a name in a shared,
// world-writable directory: another local user can create it first, or
// plant a symbolic link or a socket there, and wait for the victim's CLI.
// Check and Prepare refuse such a directory and say which check failed.
// Every test uses lstat, never stat: a symbolic link is judged as itself.
package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// owner reports the uid that owns the file fi describes. Each platform's
// file sets it; where it stays nil every check fails closed.
var owner func(fs.FileInfo) (int, bool)

// maxLinks bounds the symbolic links followed above a directory, as the
// kernel's own MAXSYMLINKS does.
const maxLinks = 40

// Dirs returns the dev stack's default runtime directories for the
// current user, the private one first: $XDG_RUNTIME_DIR/carapace when
// XDG_RUNTIME_DIR is an absolute path, then $TMPDIR/carapace-<uid>
// (/tmp/carapace-<uid> when TMPDIR is unset).
func Dirs() []string {
	var out []string
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		out = append(out, filepath.Join(x, "carapace"))
	}
	return append(out, Shared())
}

// Shared returns the runtime directory a dev stack uses without
// XDG_RUNTIME_DIR: $TMPDIR/carapace-<uid>, a name in a directory every
// local user may write.
func Shared() string {
	return filepath.Join(os.TempDir(), "carapace-"+strconv.Itoa(os.Geteuid()))
}

// Default returns the runtime directory `carapace dev` uses when given
// none: the first of Dirs.
func Default() string { return Dirs()[0] }

// Check reports whether dir is private to uid: a real directory (not a
// symbolic link) owned by uid with no permission bits for group or
// others, under parents that only root or uid can change. The error is
// an *errs.Error of kind Forbidden whose reason names the failed check
// (runtime_dir_symlink, runtime_dir_foreign, runtime_dir_open,
// runtime_dir_parent, runtime_dir_not_dir) and whose hint says what to
// do; a dir that does not exist is reported with errs.NotFound.
func Check(dir string, uid int) error {
	dir = filepath.Clean(dir)
	parent, err := Chain(filepath.Dir(dir), 0, uid)
	if err != nil {
		return err
	}
	return checkLeaf(dir, filepath.Join(parent, filepath.Base(dir)), uid)
}

// checkLeaf checks the directory itself; real is its path with every
// parent's symbolic links resolved.
func checkLeaf(dir, real string, uid int) error {
	op := "runtime dir " + dir
	fi, err := os.Lstat(real)
	if errors.Is(err, fs.ErrNotExist) {
		return errs.E(op, errs.NotFound, errs.ReasonNoRuntimeDir, err)
	}
	if err != nil {
		return errs.E(op, errs.Failed, err)
	}
	who, ok := ownerUID(fi)
	switch {
	case !ok:
		return unsupported(op)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(real)
		return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirSymlink,
			errs.Hint(dir+" is a symbolic link (to "+target+"), owned by "+describe(who)+"; "+removal(dir, who, uid)),
			fmt.Errorf("a symbolic link, not a directory"))
	case !fi.IsDir():
		return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirNotDir,
			errs.Hint(dir+" is a "+kind(fi)+" owned by "+describe(who)+"; "+removal(dir, who, uid)),
			fmt.Errorf("not a directory"))
	case who != uid:
		return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirForeign,
			errs.Hint(removal(dir, who, uid)),
			fmt.Errorf("owned by %s, not by uid %d", describe(who), uid))
	case fi.Mode().Perm()&0o077 != 0:
		return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirOpen,
			errs.Hint(fmt.Sprintf("%s is open to other users (mode %04o): another user may have planted a socket or state file in it, impersonating Carapace; remove it (rm -r %s) and let Carapace make a new one, or, if you trust everything in it, chmod 700 %s", dir, fi.Mode().Perm(), dir, dir)),
			fmt.Errorf("mode %04o: group or others have access", fi.Mode().Perm()))
	}
	return nil
}

// Chain walks from / to dir, following symbolic links itself, and fails
// at the first directory that someone other than root and the given
// owners could change: one owned by anyone else, or one that group or
// others may write without the sticky bit. In a sticky directory (/tmp)
// the next entry must itself belong to root or an owner, since only
// its owner may then rename or remove it. Chain returns dir with every
// symbolic link resolved.
func Chain(dir string, owners ...int) (string, error) {
	op := "runtime dir " + dir
	if !filepath.IsAbs(dir) {
		return "", errs.E(op, errs.InvalidParams, fmt.Errorf("not an absolute path"))
	}
	trusted := func(uid int) bool { return uid == 0 || slices.Contains(owners, uid) }
	cur, links := "/", 0
	fi, err := os.Lstat(cur)
	if err != nil {
		return "", errs.E(op, errs.Failed, err)
	}
	if err := checkParent(op, cur, fi, trusted); err != nil {
		return "", err
	}
	todo := strings.Split(dir, "/")
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no links left in it
			continue
		}
		next := filepath.Join(cur, c)
		nfi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return "", errs.E(op, errs.NotFound, errs.ReasonNoRuntimeDir, err)
		}
		if err != nil {
			return "", errs.E(op, errs.Failed, err)
		}
		// In a directory others may write (sticky, or checkParent had
		// refused it), only the entry's owner can replace the entry.
		if fi.Mode().Perm()&0o022 != 0 {
			if who, ok := ownerUID(nfi); !ok || !trusted(who) {
				return "", parentError(op, next, describe(who)+" owns it, in "+cur+", which every user may write")
			}
		}
		if nfi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return "", errs.E(op, errs.Failed, fmt.Errorf("too many symbolic links"))
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", errs.E(op, errs.Failed, err)
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			todo = append(strings.Split(target, "/"), todo...)
			continue
		}
		if err := checkParent(op, next, nfi, trusted); err != nil {
			return "", err
		}
		cur, fi = next, nfi
	}
	return cur, nil
}

// checkParent checks one directory on the way down.
func checkParent(op, p string, fi fs.FileInfo, trusted func(int) bool) error {
	if !fi.IsDir() {
		return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirNotDir, fmt.Errorf("%s is not a directory", p))
	}
	who, ok := ownerUID(fi)
	if !ok {
		return unsupported(op)
	}
	if !trusted(who) {
		return parentError(op, p, describe(who)+" owns it")
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return parentError(op, p, fmt.Sprintf("group or others may write it (mode %04o) and it has no sticky bit", fi.Mode().Perm()))
	}
	return nil
}

func parentError(op, p, why string) error {
	return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirParent,
		errs.Hint(p+" can be changed by someone other than you and root ("+why+"), so whatever is below it could be swapped; use a runtime directory under a parent only you or root can write"),
		fmt.Errorf("unsafe parent %s: %s", p, why))
}

// removal says what to do about dir when it belongs to who, not to uid.
func removal(dir string, who, uid int) string {
	if who == uid {
		return "remove it (rm " + dir + ") and start again"
	}
	return dir + " belongs to " + describe(who) + ", not to you (uid " + strconv.Itoa(uid) + "): another user may be impersonating Carapace; have an administrator remove it (sudo rm -r " + dir + ") and tell them who made it"
}

// describe names a uid for a person: "uid 1001 (bob)".
func describe(uid int) string {
	s := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		s += " (" + u.Username + ")"
	}
	return s
}

func kind(fi fs.FileInfo) string {
	switch {
	case fi.IsDir():
		return "directory"
	case fi.Mode()&fs.ModeSocket != 0:
		return "socket"
	case fi.Mode().IsRegular():
		return "regular file"
	}
	return "special file"
}

func ownerUID(fi fs.FileInfo) (int, bool) {
	if owner == nil {
		return -1, false
	}
	return owner(fi)
}

func unsupported(op string) error {
	return errs.E(op, errs.Unavailable, errs.ReasonNoFileOwner,
		errs.Hint("this platform cannot report who owns a file, so Carapace cannot tell whether its runtime directory is private"),
		errors.ErrUnsupported)
}
