package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/file"
)

var fileWriteVerb = fileVerb{
	name:  "write",
	usage: "carapace file write PATH [- | --from FILE] [--mode create|overwrite|append] [--sync] [--chunks] [--json]",
	help:  "write stdin (or a local file) to a file, atomically unless appending",
	flags: []string{"from", "mode", "sync", "chunks"},
	exec:  fileWrite,
}

// writeChunk is the content one file.write carries: its base64 form plus
// the envelope stays under the router's default 1 MiB message limit.
const writeChunk = 512 << 10

// writeReport is what `file write --json` prints.
type writeReport struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Mtime  string `json:"mtime"`
	Bytes  int64  `json:"bytes"`
	Chunks int    `json:"chunks"`
	Via    string `json:"via"` // "fd" (file.upload's pipe) or "chunks" (file.write)
}

func fileWrite(ctx context.Context, f *fileFlags, args []string) error {
	if err := fileArgs("write", args, 1, 2, "cat a.txt | carapace file write ~/Documents/a.txt -"); err != nil {
		return err
	}
	p, err := remotePath(args[0])
	if err != nil {
		return err
	}
	if f.mode != "create" && f.mode != "overwrite" && f.mode != "append" {
		return usage("use --mode create, overwrite or append", "unknown mode %q", f.mode)
	}
	in, size, err := writeSource(f.from, args[1:])
	if err != nil {
		return err
	}
	defer in.Close()
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dialFile(ctx, "GET:"+p, "PUT:"+p, "PUT:"+p+partSuffix+"*", "DELETE:"+p+partSuffix+"*")
	if err != nil {
		return err
	}
	defer c.Close()
	pr := newProgress("wrote", size)
	var rep *writeReport
	err = errNoUpload
	if f.mode != "append" && !f.chunks {
		// The descriptor path, on the local socket; chunks where it
		// cannot come (another entry, another system).
		src := in
		if f.from == "" {
			src = os.Stdin
		}
		rep, err = upload(ctx, c, p, f.mode, f.sync, src, pr)
	}
	if err == errNoUpload || fallBack(err) {
		w := &chunkWriter{c: c, path: p, mode: f.mode, sync: f.sync, pr: pr}
		rep, err = w.run(ctx, in)
	}
	pr.finish()
	if err != nil {
		return cliHint("file.write", relabel(err, "file.write"))
	}
	switch {
	case f.json:
		return printJSON(os.Stdout, rep)
	case f.verbose:
		if rep.Via == "fd" {
			fmt.Fprintf(os.Stderr, "carapace: file write %s: %d bytes through a descriptor\n", rep.Path, rep.Bytes)
		} else {
			fmt.Fprintf(os.Stderr, "carapace: file write %s: %d bytes in %d chunks\n", rep.Path, rep.Bytes, rep.Chunks)
		}
	}
	return nil
}

// errNoUpload is a write that goes in chunks from the start (append,
// --chunks).
var errNoUpload = errors.New("no upload")

// writeSource opens the content: --from FILE, or stdin ("-", or no
// argument when stdin is not a terminal). It returns the size when known.
func writeSource(from string, rest []string) (io.ReadCloser, int64, error) {
	switch {
	case from != "" && len(rest) > 0:
		return nil, 0, usage("give either - (stdin) or --from FILE", "two sources for file write")
	case from != "":
		in, err := os.Open(from)
		if err != nil {
			return nil, 0, errs.E("file write", fmt.Errorf("--from: %w", err))
		}
		st, _ := in.Stat()
		return in, st.Size(), nil
	case len(rest) == 1 && rest[0] != "-":
		return nil, 0, usage("use - for stdin or --from FILE", "unexpected argument %q", rest[0])
	case len(rest) == 0 && isTerminal(os.Stdin):
		return nil, 0, usage("pipe the content in and pass -, or use --from FILE", "file write reads stdin, which is a terminal")
	}
	var size int64
	if st, err := os.Stdin.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return io.NopCloser(os.Stdin), size, nil
}

// chunkWriter sends content in file.write calls.
//
// One chunk is one file.write in the requested mode: atomic, as the
// service makes it. More than one chunk, in create or overwrite mode, go
// to a part file beside the target (create, then append), which one
// file.move renames over the target at the end (with replace for
// overwrite): readers see the old file or the whole new one, never a part,
// and a failure deletes the part. Append mode appends chunk by chunk: a
// failure part-way leaves the chunks before it appended.
type chunkWriter struct {
	c      *client.Client
	path   string
	mode   string
	sync   bool
	pr     *progress
	part   string // the part file, once made
	rep    writeReport
	target string // where the current chunk goes
}

func (w *chunkWriter) run(ctx context.Context, in io.Reader) (*writeReport, error) {
	w.rep.Path, w.target, w.rep.Via = w.path, w.path, "chunks"
	buf, next := make([]byte, writeChunk), make([]byte, writeChunk)
	n, err := io.ReadFull(in, buf)
	for {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, w.abort(ctx, errs.E("file write: read input", err))
		}
		// A short read is the last chunk; a full one is the last when
		// nothing follows it.
		last := err != nil
		var m int
		var nerr error
		if !last {
			m, nerr = io.ReadFull(in, next)
			last = m == 0 && errors.Is(nerr, io.EOF)
		}
		if !last && w.rep.Chunks == 0 && w.mode != "append" {
			if err := w.startPart(ctx); err != nil {
				return nil, err
			}
		}
		if err := w.send(ctx, buf[:n]); err != nil {
			return nil, w.abort(ctx, err)
		}
		if last {
			break
		}
		buf, next = next, buf
		n, err = m, nerr
	}
	if w.part != "" {
		if err := w.c.Call(ctx, "file.move", map[string]any{"from": w.part, "to": w.path, "replace": w.mode == "overwrite"}, nil); err != nil {
			return nil, w.abort(ctx, errs.E("file.write", err))
		}
	}
	return &w.rep, nil
}

// startPart picks the part file's name; in create mode it first checks
// the target does not exist, so a large upload does not fail at the end.
func (w *chunkWriter) startPart(ctx context.Context) error {
	if w.mode == "create" {
		err := w.c.Call(ctx, "file.stat", map[string]string{"path": w.path}, nil)
		if err == nil {
			return errs.E("file.write", errs.Failed, errs.ReasonExists,
				errs.Hint("use --mode overwrite to replace it"), fmt.Errorf("%s exists", w.path))
		}
		if !errs.Match(errs.E(errs.ReasonNotFound), err) {
			return errs.E("file.write", err)
		}
	}
	var r [6]byte
	rand.Read(r[:])
	dir, name := path.Split(w.path)
	w.part = dir + name + partSuffix + hex.EncodeToString(r[:]) // no leading dot: ".env.*" would deny it
	w.target = w.part
	return nil
}

// send writes one chunk: the first in the requested mode (create for a
// part file), the rest appended.
func (w *chunkWriter) send(ctx context.Context, b []byte) error {
	mode := "append"
	if w.rep.Chunks == 0 {
		mode = w.mode
		if w.part != "" {
			mode = "create"
		}
	}
	var res file.WriteResult
	err := w.c.Call(ctx, "file.write", map[string]any{"path": w.target, "content": base64.StdEncoding.EncodeToString(b),
		"encoding": "base64", "mode": mode, "sync": w.sync}, &res)
	if err != nil {
		return errs.E("file.write", err)
	}
	w.rep.Chunks++
	w.rep.Bytes += int64(len(b))
	w.rep.Size, w.rep.Mtime = res.Size, res.Mtime
	w.pr.add(len(b))
	return nil
}

// abort deletes the part file, if one was started, and returns err.
func (w *chunkWriter) abort(ctx context.Context, err error) error {
	if w.part != "" && w.rep.Chunks > 0 {
		w.c.Call(context.WithoutCancel(ctx), "file.delete", map[string]string{"path": w.part}, nil)
	}
	return err
}

// partSuffix starts the name of the part file a multi-chunk write goes
// through before its final move.
const partSuffix = ".carapace-part-"
