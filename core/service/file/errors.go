package file

import (
	"errors"
	"io/fs"
	"syscall"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
)

// fsError turns a file-system error into an errs error with a kind, a
// reason and a hint.
func fsError(op string, err error) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err // made by this package, op included
	case errors.Is(err, fsafe.ErrEscape):
		return errs.E(op, errs.Forbidden, errs.Reason("symlink_escape"),
			errs.Hint("the link leads outside the allowed folders; add its target's folder to "+pathsHint), err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return errs.E(op, errs.NotFound, errs.Reason("not_found"), errs.Hint("check the path with file.list"), err)
	case errors.Is(err, fs.ErrExist):
		return errs.E(op, errs.Failed, errs.Reason("exists"), errs.Hint("choose another name, or ask to replace it"), err)
	case errors.Is(err, fs.ErrPermission):
		return errs.E(op, errs.Forbidden, errs.Reason("os_permission"),
			errs.Hint("the file service's user may not do this; check the file's owner and mode"), err)
	case errors.Is(err, syscall.ELOOP):
		return errs.E(op, errs.Failed, errs.Reason("too_many_links"), errs.Hint("the path goes through a loop of links"), err)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return errs.E(op, errs.InvalidParams, errs.Reason("path_too_long"), errs.Hint("use a shorter path"), err)
	case errors.Is(err, syscall.EISDIR):
		return errs.E(op, errs.InvalidParams, errs.Reason("is_directory"), errs.Hint("name a file, not a directory"), err)
	case errors.Is(err, syscall.ENOTEMPTY):
		return errs.E(op, errs.Failed, errs.Reason("not_empty"), errs.Hint("the directory is not empty"), err)
	case errors.Is(err, syscall.EXDEV):
		return errs.E(op, errs.Failed, errs.Reason("cross_device"), errs.Hint("the two folders are on different file systems; copy instead"), err)
	case errors.Is(err, syscall.ENOSPC):
		return errs.E(op, errs.Failed, errs.Reason("no_space"), errs.Hint("free some disk space"), err)
	case errors.Is(err, errors.ErrUnsupported):
		return errs.E(op, errs.Unavailable, errs.Reason("unsupported"), errs.Hint("the file service does not run on this system"), err)
	}
	return errs.E(op, errs.Failed, errs.Reason("io_error"), errs.Hint("see the message for the system's error"), err)
}
