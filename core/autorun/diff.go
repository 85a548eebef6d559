package autorun

import (
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/fsafe"
	"io/fs"
	"os"
	"sort"
)

// Diff returns the executed paths in after that before did not have, or
// had as another file (replaced, or a link swapped for a file), and the
// directories after could not list that before could: what a command
// left that the owner's tools would run. Paths before protected are
// left out: the command could not change them, so a change there is
// the owner's own. A path below another listed one is left out; the
// list is sorted.
func Diff(before, after *Found) []string {
	protected := map[string]bool{}
	for _, p := range before.Protect {
		protected[p] = true
	}
	var out []string
	for p, info := range after.Entries {
		if protected[p] {
			continue
		}
		if old, ok := before.Entries[p]; !ok || !same(old, info) {
			out = append(out, p)
		}
	}
	for d := range after.Unreadable {
		if !before.Unreadable[d] {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	var top []string
	for _, p := range out {
		if len(top) == 0 || !Within(top[len(top)-1], p) {
			top = append(top, p)
		}
	}
	return top
}

// same reports whether a and b are one file of one type and, unless a
// directory (whose change time moves with every entry made in it, each
// commit in a .git), with an unchanged inode: an inode number alone can
// be reused by the file that replaced the first.
func same(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Mode().Type() == b.Mode().Type() && (a.IsDir() || ctime(a) == ctime(b))
}

// Quarantine renames each path (inside root) to
// "<name>.carapace-quarantine-<stamp>" beside it, where no tool looks
// for it by name, and returns the new names. Each name is resolved
// beneath root with no symbolic link followed (core/fsafe): a directory
// swapped for a link since the walk fails the rename rather than move a
// file elsewhere. It goes on past a failure and returns the first error.
func Quarantine(root string, paths []string, stamp string) ([]string, error) {
	r, err := fsafe.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	noLinks := func(rel string) error { return fmt.Errorf("%s: %w", rel, fsafe.ErrEscape) }
	var out []string
	var first error
	for _, p := range paths {
		err := rename(r, root, p, stamp, noLinks)
		if err == nil {
			out = append(out, p+".carapace-quarantine-"+stamp)
		} else if first == nil {
			first = err
		}
	}
	return out, first
}

func rename(r *fsafe.Root, root, p, stamp string, check fsafe.Check) error {
	rel, ok := strings.CutPrefix(p, root+"/")
	if !ok || !fsafe.IsValidRel(rel) {
		return fmt.Errorf("quarantine %s: not below %s", p, root)
	}
	d, name, err := r.Parent(rel, check)
	if err != nil {
		return fmt.Errorf("quarantine %s: %w", p, err)
	}
	defer d.Close()
	if err := fsafe.Rename(d, name, d, name+".carapace-quarantine-"+stamp, false); err != nil {
		return fmt.Errorf("quarantine %s: %w", p, err)
	}
	return d.Sync()
}
