package autorun

import (
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

// Quarantine renames each path to "<name>.carapace-quarantine-<stamp>"
// beside it, where no tool looks for it by name, and returns the new
// names. It goes on past a failure and returns the first error.
func Quarantine(paths []string, stamp string) ([]string, error) {
	var out []string
	var first error
	for _, p := range paths {
		q := p + ".carapace-quarantine-" + stamp
		if err := os.Rename(p, q); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		out = append(out, q)
	}
	return out, first
}
