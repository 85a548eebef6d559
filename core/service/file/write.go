package file

import (
	"context"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

type writeParams struct {
	Path     string `json:"path"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"` // "utf-8" (default) or "base64"
	Mode     string `json:"mode"`     // "create", "overwrite" or "append"
	IfMtime  string `json:"if_mtime"` // refuse unless the file's mtime is this
	Sync     bool   `json:"sync"`     // flush before the name is given, even to a new file
}

// WriteResult is file.write's result: the file's size and mtime after the
// write.
type WriteResult struct {
	Size  int64  `json:"size"`
	Mtime string `json:"mtime"`
}

// tempPrefix starts the names of files being written; a crash can leave one
// behind, never a half-written file under the real name.
const tempPrefix = ".carapace-write-"

// flushFile flushes a written file to stable storage (a test counts the
// calls).
var flushFile = (*os.File).Sync

// testHookBeforeRename, when set by a test, runs between writing the
// temporary file and renaming it into place.
var testHookBeforeRename func()

func (s *Service) write(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.write"
	var p writeParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbPut, p.Path)
	if err != nil {
		return nil, err
	}
	data, ifMtime, err := p.decode(op)
	if err != nil {
		return nil, err
	}
	if t.rel == "" {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("name a file inside the folder"))
	}
	if int64(len(data)) > s.maxWrite {
		return nil, s.tooLarge(op, int64(len(data)))
	}
	if p.Mode == "append" {
		return s.appendTo(call, op, t, data, ifMtime)
	}
	return s.replace(call, op, t, data, ifMtime, p.Mode == "overwrite", p.Sync)
}

func (p *writeParams) decode(op string) (data []byte, ifMtime *time.Time, err error) {
	switch p.Mode {
	case "create", "overwrite", "append":
	default:
		return nil, nil, errs.E(op, errs.InvalidParams, errs.ReasonBadMode,
			errs.Hint(`mode must be "create", "overwrite" or "append"`), fmt.Errorf("mode %q", p.Mode))
	}
	switch p.Encoding {
	case "", "utf-8":
		data = []byte(p.Content)
	case "base64":
		if data, err = base64.StdEncoding.DecodeString(p.Content); err != nil {
			return nil, nil, errs.E(op, errs.InvalidParams, errs.ReasonBadContent, errs.Hint("content is not standard base64"), err)
		}
	default:
		return nil, nil, errs.E(op, errs.InvalidParams, errs.ReasonBadEncoding,
			errs.Hint(`encoding must be "utf-8" or "base64"`), fmt.Errorf("encoding %q", p.Encoding))
	}
	if p.IfMtime != "" {
		m, err := time.Parse(time.RFC3339Nano, p.IfMtime)
		if err != nil {
			return nil, nil, errs.E(op, errs.InvalidParams, errs.ReasonBadMtime,
				errs.Hint("pass if_mtime exactly as file.stat or file.read returned it"), err)
		}
		ifMtime = &m
	}
	return data, ifMtime, nil
}

func (s *Service) tooLarge(op string, n int64) error {
	return errs.E(op, errs.TooLarge, errs.ReasonWriteTooLarge, map[string]any{"max": s.maxWrite},
		errs.Hint(fmt.Sprintf("the file would be %d bytes; the limit is %d (services.file.max_write)", n, s.maxWrite)))
}

func changed(op string, want *time.Time, got string) error {
	return errs.E(op, errs.Failed, errs.ReasonChanged, map[string]any{"mtime": got},
		errs.Hint("the file changed since you read it; read it again and retry"),
		fmt.Errorf("mtime is %s, not %s", got, FormatMtime(*want)))
}

// replace writes data to a new file in t's directory and renames it over
// t's name: atomically, so a reader or a crash sees the old file or the new
// one. A link at the name is replaced, not written through; an existing
// file's permission bits are kept. Without overwrite, an existing name
// (even a dangling link) fails the call. The new file is flushed before
// it replaces one, and before it gets a new name when sync is set.
func (s *Service) replace(call *service.Call, op string, t target, data []byte, ifMtime *time.Time, overwrite, sync bool) (any, error) {
	dir, name, err := t.f.root.Parent(t.rel, s.check(call, op, verbPut, t))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer dir.Close()
	perm := uint32(0o644)
	old, err := dir.Lstat(name)
	switch {
	case err == nil && !overwrite:
		return nil, errs.E(op, errs.Failed, errs.ReasonExists, errs.Hint(`use mode "overwrite" to replace it`), fmt.Errorf("%s exists", t.abs))
	case err == nil && old.Mode.IsDir():
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("name a file, not a directory"), fmt.Errorf("%s is a directory", t.abs))
	case err == nil && ifMtime != nil && !old.ModTime.Equal(*ifMtime):
		return nil, changed(op, ifMtime, FormatMtime(old.ModTime))
	case err == nil && old.Mode.IsRegular():
		perm = uint32(old.Mode.Perm())
		sync = true
	case err == nil:
		sync = true
	case err != nil && !os.IsNotExist(err):
		return nil, fsError(op, err)
	case err != nil && ifMtime != nil:
		return nil, changed(op, ifMtime, "")
	}
	info, err := writeTemp(dir, name, data, perm, overwrite, sync)
	if err != nil {
		return nil, fsError(op, err)
	}
	return &WriteResult{Size: info.Size, Mtime: FormatMtime(info.ModTime)}, nil
}

// writeTemp writes data to a temporary file in dir and renames it to
// name. With sync, or when the rename finds a name to replace, the file
// is flushed before the rename and dir after it (see link in upload.go).
func writeTemp(dir *fsafe.Dir, name string, data []byte, perm uint32, overwrite, sync bool) (fsafe.Info, error) {
	f, tmp, err := dir.CreateTemp(tempPrefix, 0o600)
	if err != nil {
		return fsafe.Info{}, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			dir.Remove(tmp, false)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fsafe.Info{}, err
	}
	if err := f.Chmod(fs.FileMode(perm)); err != nil {
		return fsafe.Info{}, err
	}
	if sync {
		if err := flushFile(f); err != nil {
			return fsafe.Info{}, err
		}
	}
	info, err := fsafe.Stat(f)
	if err != nil {
		return fsafe.Info{}, err
	}
	if testHookBeforeRename != nil {
		testHookBeforeRename()
	}
	if !overwrite {
		err = fsafe.Rename(dir, tmp, dir, name, false)
	} else {
		err = renameFlushed(dir, tmp, name, f, &sync)
	}
	if err != nil {
		return fsafe.Info{}, err
	}
	done = true
	if err := f.Close(); err != nil {
		return fsafe.Info{}, err
	}
	if !sync {
		return info, nil
	}
	return info, dir.Sync()
}

// appendTo appends data to t's existing regular file, following links that
// stay inside the folder (checked like the path itself).
func (s *Service) appendTo(call *service.Call, op string, t target, data []byte, ifMtime *time.Time) (any, error) {
	f, info, err := s.openContent(call, op, verbPut, t, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if ifMtime != nil && !info.ModTime.Equal(*ifMtime) {
		return nil, changed(op, ifMtime, FormatMtime(info.ModTime))
	}
	if info.Size+int64(len(data)) > s.maxWrite {
		return nil, s.tooLarge(op, info.Size+int64(len(data)))
	}
	if _, err := f.Write(data); err != nil {
		return nil, fsError(op, err)
	}
	if err := flushFile(f); err != nil {
		return nil, fsError(op, err)
	}
	if info, err = fsafe.Stat(f); err != nil {
		return nil, fsError(op, err)
	}
	return &WriteResult{Size: info.Size, Mtime: FormatMtime(info.ModTime)}, nil
}
