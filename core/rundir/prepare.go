package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gimme-tools/carapace/core/errs"
)

// Prepare makes dir the current user's private runtime directory: it
// creates it with mode 0700 (and any missing parent), or accepts one that
// exists only when Check passes and everything below it belongs to the
// current user and is not a symbolic link. It never repairs: a directory
// that was open to others, or holds someone else's file, may hold a
// planted socket, so it is refused with a hint instead.
func Prepare(dir string) error {
	uid := os.Geteuid()
	dir = filepath.Clean(dir)
	op := "runtime dir " + dir
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return errs.E(op, errs.Failed, errs.Hint("use a runtime directory whose parent you can create"), err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return errs.E(op, errs.Failed, errs.Hint("use a runtime directory you can create"), err)
	}
	if err := Check(dir, uid); err != nil {
		return err
	}
	return checkEntries(dir, uid)
}

// checkEntries walks dir (without following links) and fails at the first
// entry that is a symbolic link or belongs to anyone but uid.
func checkEntries(dir string, uid int) error {
	op := "runtime dir " + dir
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return errs.E(op, errs.Failed, err)
		}
		if p == dir {
			return nil
		}
		fi, err := d.Info() // lstat
		if err != nil {
			return errs.E(op, errs.Failed, err)
		}
		who, ok := ownerUID(fi)
		switch {
		case !ok:
			return unsupported(op)
		case fi.Mode()&fs.ModeSymlink != 0:
			return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirPlanted,
				errs.Hint(p+" is a symbolic link, which Carapace never makes there, owned by "+describe(who)+"; remove it (rm "+p+") after checking where it points"),
				fmt.Errorf("%s is a symbolic link", p))
		case who != uid:
			return errs.E(op, errs.Forbidden, errs.ReasonRuntimeDirPlanted,
				errs.Hint(removal(p, who, uid)),
				fmt.Errorf("%s (%s) is owned by %s, not by uid %d", p, kind(fi), describe(who), uid))
		}
		return nil
	})
}
