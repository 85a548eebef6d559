package file

import (
	"context"
	"os"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

type openParams struct {
	Path string `json:"path"`
}

// OpenResult is file.open's JSON result; the descriptor itself travels
// beside it on the Unix socket (SCM_RIGHTS).
type OpenResult struct {
	Size  int64  `json:"size"`
	Mtime string `json:"mtime"`
	FD    bool   `json:"fd"` // always true: take the descriptor passed with this answer
}

// opened is what the open handler returns: the result and the read-only
// descriptor, which the service host passes with the answer
// (service.FileResult).
type opened struct {
	res OpenResult
	f   *os.File
}

func (o *opened) Result() any    { return &o.res }
func (o *opened) File() *os.File { return o.f }

// open resolves and checks path exactly as file.read does (GET, the deny
// rules, in-folder links only, a regular file with one link) and hands the
// caller the read-only descriptor it opened. Only a caller on the local
// Unix socket can receive a descriptor; anyone else reads in chunks.
func (s *Service) open(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.open"
	var p openParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbGet, p.Path)
	if err != nil {
		return nil, err
	}
	if v := call.Caller.Via; v != "" && v != service.ViaUnix {
		return nil, errs.E(op, errs.Forbidden, errs.ReasonFDNotAllowed,
			errs.Hint("descriptors are handed over only on the local Unix socket; read the file with file.read in chunks (offset and length) instead"))
	}
	if s.redactor(call, t.f) != nil {
		// A descriptor reads raw bytes: no path around redaction.
		return nil, errs.E(op, errs.Forbidden, errs.ReasonRedacted,
			errs.Hint("this token's reads are redacted, and a descriptor would hand over the file's bytes unredacted; read it with file.read in chunks (offset and length) instead"))
	}
	f, info, err := s.openContent(call, op, verbGet, t, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return &opened{res: OpenResult{Size: info.Size, Mtime: FormatMtime(info.ModTime), FD: true}, f: f}, nil
}
