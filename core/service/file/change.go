package file

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

type mkdirParams struct {
	Path    string `json:"path"`
	Parents bool   `json:"parents"`
}

// Done is the result of methods that return nothing else.
type Done struct {
	Path string `json:"path"`
}

func (s *Service) mkdir(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.mkdir"
	var p mkdirParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbPut, p.Path)
	if err != nil {
		return nil, err
	}
	check := s.check(call, op, verbPut, t)
	if !p.Parents {
		if t.rel == "" {
			return nil, fsError(op, fs.ErrExist)
		}
		return &Done{t.abs}, mkdirOne(op, t.f.root, t.rel, check, false)
	}
	comps := strings.Split(t.rel, "/")
	for i := range comps {
		if t.rel == "" {
			break
		}
		if err := mkdirOne(op, t.f.root, strings.Join(comps[:i+1], "/"), check, true); err != nil {
			return nil, err
		}
	}
	return &Done{t.abs}, nil
}

// mkdirOne makes rel; with existOK, a directory (or a link to one, which
// the next step follows under check) already there is fine.
func mkdirOne(op string, root *fsafe.Root, rel string, check fsafe.Check, existOK bool) error {
	d, name, err := root.Parent(rel, check)
	if err != nil {
		return fsError(op, err)
	}
	defer d.Close()
	err = d.Mkdir(name, 0o755)
	if err != nil && existOK && os.IsExist(err) {
		if info, lerr := d.Lstat(name); lerr == nil && (info.Mode.IsDir() || info.Mode&fs.ModeSymlink != 0) {
			return nil
		}
	}
	if err != nil && os.IsNotExist(err) {
		return errs.E(op, errs.NotFound, errs.ReasonNotFound, errs.Hint("the parent directory is missing; pass parents: true"), err)
	}
	if err != nil {
		return fsError(op, err)
	}
	return d.Sync()
}

type moveParams struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Replace bool   `json:"replace"`
}

func (s *Service) move(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.move"
	var p moveParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	from, err := s.resolve(call, op, verbDelete, p.From)
	if err != nil {
		return nil, err
	}
	to, err := s.resolve(call, op, verbPut, p.To)
	if err != nil {
		return nil, err
	}
	if from.rel == "" || to.rel == "" {
		return nil, allowedFolder(op)
	}
	fd, fname, err := from.f.root.Parent(from.rel, s.check(call, op, verbDelete, from))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer fd.Close()
	if info, err := fd.Lstat(fname); err != nil {
		return nil, fsError(op, err)
	} else if info.Mode.IsDir() {
		if err := s.scanTree(call, op, verbDelete, from.abs, fd, fname, 0); err != nil {
			return nil, err
		}
	}
	td, tname, err := to.f.root.Parent(to.rel, s.check(call, op, verbPut, to))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer td.Close()
	if err := fsafe.Rename(fd, fname, td, tname, p.Replace); err != nil {
		return nil, fsError(op, err)
	}
	fd.Sync()
	td.Sync()
	return &Done{to.abs}, nil
}

func allowedFolder(op string) error {
	return errs.E(op, errs.Forbidden, errs.ReasonAllowedFolder,
		errs.Hint("an allowed folder itself cannot be moved or deleted; change "+pathsHint+" instead"))
}

type deleteParams struct {
	Path      string `json:"path"`
	Recursive bool   `json:"recursive"`
}

func (s *Service) delete(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.delete"
	var p deleteParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbDelete, p.Path)
	if err != nil {
		return nil, err
	}
	if t.rel == "" {
		return nil, allowedFolder(op)
	}
	d, name, err := t.f.root.Parent(t.rel, s.check(call, op, verbDelete, t))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer d.Close()
	info, err := d.Lstat(name)
	if err != nil {
		return nil, fsError(op, err)
	}
	if info.Mode.IsDir() {
		if !p.Recursive {
			return nil, errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory,
				errs.Hint("pass recursive: true to delete a directory and all it holds"), fmt.Errorf("%s is a directory", t.abs))
		}
		if err := s.scanTree(call, op, verbDelete, t.abs, d, name, 0); err != nil {
			return nil, err
		}
		if err := removeTree(d, name, 0); err != nil {
			return nil, fsError(op, err)
		}
	} else if err := d.Remove(name, false); err != nil {
		return nil, fsError(op, err)
	}
	return &Done{t.abs}, d.Sync()
}

// maxDepth bounds recursion in delete, move and search: each level holds a
// descriptor.
const maxDepth = 128

// scanTree checks every name under the directory name in d as the caller's
// own path would be checked for verb (scope, deny rules, read-only nested
// folders) before a recursive change touches any of them.
func (s *Service) scanTree(call *service.Call, op, verb, abs string, d *fsafe.Dir, name string, depth int) error {
	if depth > maxDepth {
		return errs.E(op, errs.Failed, errs.ReasonTooDeep, errs.Hint(fmt.Sprintf("the tree is more than %d levels deep", maxDepth)))
	}
	sub, err := d.OpenDir(name)
	if err != nil {
		return fsError(op, err)
	}
	defer sub.Close()
	names, err := sub.Names()
	if err != nil {
		return fsError(op, err)
	}
	for _, n := range names {
		p := path.Join(abs, n)
		if _, err := s.allowed(call, op, verb, p); err != nil {
			return err
		}
		if info, err := sub.Lstat(n); err == nil && info.Mode.IsDir() {
			if err := s.scanTree(call, op, verb, p, sub, n, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeTree removes the directory name in d and everything under it,
// through descriptors only; links are unlinked, never followed.
func removeTree(d *fsafe.Dir, name string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("remove %s: deeper than %d levels", name, maxDepth)
	}
	sub, err := d.OpenDir(name)
	if err != nil {
		return err
	}
	names, err := sub.Names()
	if err == nil {
		for _, n := range names {
			info, lerr := sub.Lstat(n)
			switch {
			case lerr != nil:
			case info.Mode.IsDir():
				err = removeTree(sub, n, depth+1)
			default:
				err = sub.Remove(n, false)
			}
			if err != nil {
				break
			}
		}
	}
	sub.Close()
	if err != nil {
		return err
	}
	return d.Remove(name, true)
}
