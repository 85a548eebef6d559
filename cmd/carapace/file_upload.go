package main

import (
	"context"
	"errors"
	"github.com/gimme-tools/carapace/core/errs"
	"io"
	"os"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/service/file"
)

// upload writes in at disk speed: file.upload hands over a pipe into an
// unnamed file beside the target, the content goes into it (spliced by the
// kernel where it can), and file.commit gives the file its name
// atomically once the service has every byte. A failure before the commit
// leaves nothing behind.
func upload(ctx context.Context, c *client.Client, p, mode string, sync bool, in io.Reader, pr *progress) (*writeReport, error) {
	var res file.UploadResult
	w, err := c.CallFD(ctx, "file.upload", map[string]any{"path": p, "mode": mode, "sync": sync}, &res)
	if err != nil {
		return nil, errs.E("file.write", err)
	}
	n, cerr := copyToPipe(w, in, pr)
	w.Close()
	sent := n
	var pipeErr bool
	if cerr != nil {
		// A closed pipe is the service refusing more (the size cap): its
		// commit says why. Anything else is ours: the commit's count
		// mismatch drops the upload.
		if pipeErr = errors.Is(cerr, errPipeClosed); !pipeErr {
			sent = -1
		}
	}
	var wr file.WriteResult
	err = c.Call(ctx, "file.commit", map[string]any{"path": p, "upload": res.Upload, "bytes": sent}, &wr)
	switch {
	case cerr != nil && !pipeErr:
		return nil, errs.E("file write: read input", cerr)
	case err != nil:
		return nil, errs.E("file.write", err)
	}
	return &writeReport{Path: p, Size: wr.Size, Mtime: wr.Mtime, Bytes: n, Via: "fd"}, nil
}

// copyBuffered copies in to the pipe w with 1 MiB buffers.
func copyBuffered(w *os.File, in io.Reader, pr *progress) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, rerr := in.Read(buf)
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return n, pipeError(err)
			}
			n += int64(m)
			pr.add(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// errPipeClosed is the service having stopped reading the upload.
var errPipeClosed = errors.New("the service stopped reading the upload")
