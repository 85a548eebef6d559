package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/file"
)

var fileReadVerb = fileVerb{
	name:  "read",
	usage: "carapace file read PATH [-o FILE|-] [--chunks] [-v] [--json]",
	help:  "copy a file's content to stdout or a local file",
	flags: []string{"o", "chunks"},
	exec:  fileRead,
}

// readReport is what `file read --json` prints (on stderr when the content
// goes to stdout).
type readReport struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
	Size  int64  `json:"size"`
	Mtime string `json:"mtime"`
	Via   string `json:"via"` // "fd" (the descriptor) or "chunks" (file.read)
}

func fileRead(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("read", args, 1, 1, "carapace file read ~/Documents/a.pdf -o a.pdf"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	out, closeOut, err := readDest(f.out)
	if err != nil {
		return err
	}
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dialFile(ctx, "GET:"+p)
	if err != nil {
		return err
	}
	defer c.Close()
	rep := readReport{Path: p}
	if !f.chunks {
		err = readFD(ctx, c, p, out, &rep)
	}
	if f.chunks || fallBack(err) {
		rep = readReport{Path: p}
		err = readChunks(ctx, c, p, out, &rep)
	}
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return relabel(err, "file.read")
	}
	return f.reportRead(&rep)
}

// readDest opens where the content goes.
func readDest(name string) (io.Writer, func() error, error) {
	if name == "" || name == "-" {
		return os.Stdout, func() error { return nil }, nil
	}
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, errs.E("file read", fmt.Errorf("-o: %w", err))
	}
	return out, out.Close, nil
}

// fallBack reports whether a file.open failure means "use chunks": the
// descriptor cannot come this way (not a Unix socket, a service without
// file.open, a token whose reads are redacted), as opposed to a refusal
// that chunks would meet too.
func fallBack(err error) bool {
	for _, t := range []error{
		errs.E(errs.ReasonFDNotAllowed), errs.E(errs.ReasonRedacted), errs.E(errs.ReasonNoFD),
		errs.E(errs.ReasonFDMissing), errs.E(errs.NoMethod),
	} {
		if errs.Match(t, err) {
			return true
		}
	}
	return false
}

// readFD reads through the descriptor file.open hands over: the kernel
// copies straight from the page cache.
func readFD(ctx context.Context, c *client.Client, p string, out io.Writer, rep *readReport) error {
	var res file.OpenResult
	fd, err := c.CallFD(ctx, "file.open", map[string]string{"path": p}, &res)
	if err != nil {
		return errs.E("file.read", err)
	}
	defer fd.Close()
	rep.Size, rep.Mtime, rep.Via = res.Size, res.Mtime, "fd"
	pr := newProgress("read", res.Size)
	var n int64
	if pr.on && res.Size >= progressMin {
		n, err = io.Copy(&countingWriter{w: out, p: pr}, fd)
	} else {
		n, err = copyFile(out, fd)
	}
	pr.finish()
	rep.Bytes = n
	if err != nil {
		return errs.E("file.read", err)
	}
	return nil
}

// copyFile copies with the kernel's help where it can (copy_file_range,
// splice, sendfile: io.Copy between files), else with 128 KiB buffers (as cat).
func copyFile(out io.Writer, in *os.File) (int64, error) {
	if o, ok := out.(*os.File); ok {
		if st, err := o.Stat(); err == nil && st.Mode().IsRegular() {
			return io.Copy(o, in)
		}
	}
	buf := make([]byte, 128<<10)
	return io.CopyBuffer(struct{ io.Writer }{out}, struct{ io.Reader }{in}, buf)
}

// readChunks reads with file.read, chunk after chunk, until the end.
func readChunks(ctx context.Context, c *client.Client, p string, out io.Writer, rep *readReport) error {
	rep.Via = "chunks"
	var pr *progress
	for off := int64(0); ; {
		var res file.ReadResult
		err := c.Call(ctx, "file.read", map[string]any{"path": p, "offset": off, "length": file.MaxChunk}, &res)
		if err != nil {
			return errs.E("file.read", err)
		}
		if pr == nil {
			pr = newProgress("read", res.Size)
			defer pr.finish()
		}
		b := []byte(res.Content)
		if res.Encoding == "base64" {
			if b, err = base64.StdEncoding.DecodeString(res.Content); err != nil {
				return errs.E("file.read", fmt.Errorf("chunk at %d: %w", off, err))
			}
		}
		if _, err := out.Write(b); err != nil {
			return errs.E("file.read", err)
		}
		pr.add(len(b))
		off += int64(res.Length)
		rep.Bytes, rep.Size, rep.Mtime = off, res.Size, res.Mtime
		if res.EOF || res.Length == 0 {
			return nil
		}
	}
}

func (f *fileFlags) reportRead(rep *readReport) error {
	dst := os.Stdout
	if f.out == "" || f.out == "-" {
		dst = os.Stderr // stdout holds the content
	}
	switch {
	case f.json:
		return printJSON(dst, rep)
	case f.verbose:
		fmt.Fprintf(os.Stderr, "carapace: file read %s: %d bytes via %s\n", rep.Path, rep.Bytes, rep.Via)
	}
	return nil
}
