package file

import (
	"context"
	"encoding/json"
	"io/fs"
	"path"
	"slices"
	"strconv"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

// Entry describes one name in a directory, as lstat sees it: a link is
// reported as a link ("symlink"), with its target's text, never followed.
type Entry struct {
	Name   string `json:"name"`
	Type   string `json:"type"` // "file", "dir", "symlink" or "other"
	Size   int64  `json:"size"`
	Mtime  string `json:"mtime"`
	Mode   string `json:"mode,omitempty"`   // permission bits, octal (stat only)
	Target string `json:"target,omitempty"` // a link's text (stat only)
	Path   string `json:"path,omitempty"`   // the cleaned absolute path (stat only)
}

func entryOf(i fsafe.Info) Entry {
	return Entry{Name: i.Name, Type: typeOf(i.Mode), Size: i.Size, Mtime: FormatMtime(i.ModTime)}
}

// typeOf names mode's type as an Entry does.
func typeOf(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "file"
	case mode.IsDir():
		return "dir"
	case mode&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

type listParams struct {
	Path  string `json:"path"`
	Glob  string `json:"glob"`  // path.Match pattern on names
	After string `json:"after"` // list names sorted after this one (paging)
}

// ListResult is file.list's result. Entries are sorted by name; deny-listed
// names are left out. When Truncated is set, call again with after set to
// the last entry's name.
type ListResult struct {
	Path      string  `json:"path"`
	Entries   []Entry `json:"entries"`
	Truncated bool    `json:"truncated"`
}

func (s *Service) list(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.list"
	var p listParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbGet, p.Path)
	if err != nil {
		return nil, err
	}
	if err := checkGlob(op, p.Glob); err != nil {
		return nil, err
	}
	d, err := t.f.root.OpenDir(t.rel, s.check(call, op, verbGet, t))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer d.Close()
	names, err := d.Names()
	if err != nil {
		return nil, fsError(op, err)
	}
	slices.Sort(names)
	b := appendListStart(make([]byte, 0, min(64+len(names)*96, maxListBytes+4096)), t.abs)
	denied := s.entryDeny(t.abs)
	truncated, n := false, 0
	for _, name := range names {
		if name <= p.After || !globMatch(p.Glob, name) || denied(name) != "" {
			continue
		}
		if len(b) > maxListBytes {
			truncated = true
			break
		}
		info, err := d.Lstat(name)
		if err != nil {
			continue // removed while listing
		}
		if n++; n > 1 {
			b = append(b, ',')
		}
		b = appendEntry(b, name, info)
	}
	return json.RawMessage(appendListEnd(b, truncated)), nil
}

// appendListStart and appendListEnd write a ListResult's JSON around its
// entries, as encoding/json would.
func appendListStart(b []byte, path string) []byte {
	b = append(b, `{"path":`...)
	b = appendJSONString(b, path)
	return append(b, `,"entries":[`...)
}

func appendListEnd(b []byte, truncated bool) []byte {
	b = append(b, `],"truncated":`...)
	b = strconv.AppendBool(b, truncated)
	return append(b, '}')
}

// appendEntry writes a listing's entry for name, as info describes it,
// straight from the lstat: a listing of 100 names spent a fifth of its
// user time building, formatting and encoding Entry values.
func appendEntry(b []byte, name string, info fsafe.Info) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"type":"`...)
	b = append(b, typeOf(info.Mode)...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, info.Size, 10)
	b = append(b, `,"mtime":"`...)
	b = appendMtime(b, info.ModTime)
	return append(b, `"}`...)
}

// MarshalJSON encodes the result as encoding/json would, without
// reflection. (file.list writes its result with appendEntry, from the
// lstat of each name, without making a ListResult.)
func (r *ListResult) MarshalJSON() ([]byte, error) {
	b := appendListStart(make([]byte, 0, 64+len(r.Entries)*96), r.Path)
	for i, e := range r.Entries {
		if i > 0 {
			b = append(b, ',')
		}
		if e.Mode != "" || e.Target != "" || e.Path != "" {
			j, err := json.Marshal(e) // not a listing's entry; never here
			if err != nil {
				return nil, err
			}
			b = append(b, j...)
			continue
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, e.Name)
		b = append(b, `,"type":"`...)
		b = append(b, e.Type...)
		b = append(b, `","size":`...)
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, `,"mtime":"`...)
		b = append(b, e.Mtime...)
		b = append(b, `"}`...)
	}
	return appendListEnd(b, r.Truncated), nil
}

// appendJSONString appends s as a JSON string: itself in quotes when it
// is printable ASCII needing no escape, else as encoding/json writes it
// (HTML characters escaped, invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func checkGlob(op, glob string) error {
	if _, err := path.Match(glob, ""); err != nil {
		return errs.E(op, errs.InvalidParams, errs.ReasonBadGlob, errs.Hint("glob uses * ? [a-z] and \\ for escapes"), err)
	}
	return nil
}

func globMatch(glob, name string) bool {
	if glob == "" {
		return true
	}
	m, _ := path.Match(glob, name)
	return m
}

type pathParams struct {
	Path string `json:"path"`
}

func (s *Service) stat(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.stat"
	var p pathParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbGet, p.Path)
	if err != nil {
		return nil, err
	}
	var info fsafe.Info
	target := ""
	if t.rel == "" {
		d, err := t.f.root.OpenDir("", nil)
		if err != nil {
			return nil, fsError(op, err)
		}
		defer d.Close()
		info, err = d.Stat()
		if err != nil {
			return nil, fsError(op, err)
		}
	} else {
		if info, err = t.f.root.Lstat(t.rel, s.check(call, op, verbGet, t)); err != nil {
			return nil, fsError(op, err)
		}
		if info.Mode&fs.ModeSymlink != 0 {
			d, name, err := t.f.root.Parent(t.rel, s.check(call, op, verbGet, t))
			if err != nil {
				return nil, fsError(op, err)
			}
			target, _ = d.Readlink(name)
			d.Close()
		}
	}
	return statJSON(path.Base(t.abs), t.abs, target, info), nil
}

// statJSON returns file.stat's result, as encoding/json writes its Entry.
func statJSON(name, abs, target string, info fsafe.Info) json.RawMessage {
	b := appendEntry(make([]byte, 0, 128+len(name)+len(abs)+len(target)), name, info)
	b = append(b[:len(b)-1], `,"mode":"`...)
	p := info.Mode.Perm()
	b = append(b, '0', '0'+byte(p>>6&7), '0'+byte(p>>3&7), '0'+byte(p&7))
	b = append(b, '"')
	if target != "" {
		b = append(b, `,"target":`...)
		b = appendJSONString(b, target)
	}
	b = append(b, `,"path":`...)
	b = appendJSONString(b, abs)
	return append(b, '}')
}
