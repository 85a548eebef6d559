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
		return errs.E(op, errs.Forbidden, errs.ReasonSymlinkEscape,
			errs.Hint("the link leads outside the allowed folders; add its target's folder to "+pathsHint), err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return errs.E(op, errs.NotFound, errs.ReasonNotFound, errs.Hint("check the path with file.list"), err)
	case errors.Is(err, fs.ErrExist):
		return errs.E(op, errs.Failed, errs.ReasonExists, errs.Hint("choose another name, or ask to replace it"), err)
	case errors.Is(err, fs.ErrPermission):
		return errs.E(op, errs.Forbidden, errs.ReasonOSPermission,
			errs.Hint("the file service's user may not do this; check the file's owner and mode"), err)
	case errors.Is(err, syscall.ELOOP):
		return errs.E(op, errs.Failed, errs.ReasonTooManyLinks, errs.Hint("the path goes through a loop of links"), err)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return errs.E(op, errs.InvalidParams, errs.ReasonPathTooLong, errs.Hint("use a shorter path"), err)
	case errors.Is(err, syscall.EISDIR):
		return errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("name a file, not a directory"), err)
	case errors.Is(err, syscall.ENOTEMPTY):
		return errs.E(op, errs.Failed, errs.ReasonNotEmpty, errs.Hint("the directory is not empty"), err)
	case errors.Is(err, syscall.EXDEV):
		return errs.E(op, errs.Failed, errs.ReasonCrossDevice, errs.Hint("the two folders are on different file systems; copy instead"), err)
	case errors.Is(err, syscall.ENOSPC):
		return errs.E(op, errs.Failed, errs.ReasonNoSpace, errs.Hint("free some disk space"), err)
	case errors.Is(err, errors.ErrUnsupported):
		return errs.E(op, errs.Unavailable, errs.ReasonUnsupported, errs.Hint("the file service does not run on this system"), err)
	}
	return errs.E(op, errs.Failed, errs.ReasonIOError, errs.Hint("see the message for the system's error"), err)
}
