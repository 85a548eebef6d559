package file

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"

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
	typ := "other"
	switch {
	case i.Mode.IsRegular():
		typ = "file"
	case i.Mode.IsDir():
		typ = "dir"
	case i.Mode&fs.ModeSymlink != 0:
		typ = "symlink"
	}
	return Entry{Name: i.Name, Type: typ, Size: i.Size, Mtime: FormatMtime(i.ModTime)}
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
	sort.Strings(names)
	res := &ListResult{Path: t.abs, Entries: []Entry{}}
	budget := maxListBytes
	for _, name := range names {
		if name <= p.After || !globMatch(p.Glob, name) || s.denyRule(path.Join(t.abs, name)) != "" {
			continue
		}
		if budget < 0 {
			res.Truncated = true
			break
		}
		info, err := d.Lstat(name)
		if err != nil {
			continue // removed while listing
		}
		e := entryOf(info)
		budget -= entrySize(e)
		res.Entries = append(res.Entries, e)
	}
	return res, nil
}

// entrySize returns an upper bound on e's JSON size in a list result.
func entrySize(e Entry) int {
	n := len(`{"name":"","type":"","size":,"mtime":""},`) + len(e.Type) + len(e.Mtime) + 20
	for _, c := range []byte(e.Name) {
		switch {
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		case c == '"' || c == '\\':
			n += 2
		default:
			n++
		}
	}
	return n
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
		d, name, err := t.f.root.Parent(t.rel, s.check(call, op, verbGet, t))
		if err != nil {
			return nil, fsError(op, err)
		}
		defer d.Close()
		if info, err = d.Lstat(name); err != nil {
			return nil, fsError(op, err)
		}
		if info.Mode&fs.ModeSymlink != 0 {
			target, _ = d.Readlink(name)
		}
	}
	e := entryOf(info)
	e.Name, e.Path, e.Target = path.Base(t.abs), t.abs, target
	e.Mode = fmt.Sprintf("%04o", info.Mode.Perm())
	return &e, nil
}
