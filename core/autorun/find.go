package autorun

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// MaxEntries bounds the directory entries Find reads under one root. A
// tree larger than that is refused rather than walked in part (a part
// walked would leave the rest unprotected); the bound is far above a
// source tree without its package folders (Skip).
const MaxEntries = 1 << 20

// MaxProtect bounds the paths Find returns to protect: each is a mount
// in the command's namespace (~0.15 ms each measured here) and ~70 bytes
// of the sandbox spec, which travels as one argument word (Linux caps
// one at 128 KiB). A thousand is some 300 repositories.
const MaxProtect = 1000

// ErrTooLarge is Find's error for a tree over MaxEntries entries or
// MaxProtect paths to protect.
var ErrTooLarge = errors.New("more entries than the executed-path walk reads")

// Found is what Find found under a root.
type Found struct {
	Root string
	// Entries are the executed paths that exist, as Lstat saw them
	// (Diff compares them by identity: a replaced file is new).
	Entries map[string]fs.FileInfo
	// Protect are the existing paths to make read-only for a command:
	// each entry and, for a repository, the parts git runs or reads
	// (hooks, config, config.worktree, commondir, hooksPath targets,
	// included config files), never the objects and refs a commit
	// writes. Symbolic links are replaced by their targets inside Root.
	Protect []string
	// Unreadable are directories the walk could not list, or did not:
	// deeper than maxDepth.
	Unreadable map[string]bool
	// Masked are the entries Options.Mask chose (and, for a symbolic
	// link, the file it leads to inside Root; for a file with other hard
	// links, its other names inside Root), sorted: what a command must
	// not read.
	Masked   []string
	read     int
	mask     func(name string, parents []string) bool
	dirs     func(dir string, git bool)
	packages bool // enter Skip's directories for the mask
}

// Options are FindWith's.
type Options struct {
	// Mask, when set, is asked about every entry below the root, with the
	// components above it (nearest last); an entry it chooses is listed
	// in Found.Masked and not descended into. The same walk then serves
	// both lists: the cost of Mask is all that is added.
	Mask func(name string, parents []string) bool
	// dirs, when set, is told each directory the walk lists and each git
	// directory it reads (git true): what an Index watches.
	dirs func(dir string, git bool)
	// noPackages keeps a masked walk out of the directories in Skip
	// (an Index without watches: walked per command, they cost too much).
	noPackages bool
}

// MaxMasked bounds Found.Masked, for the same reasons as MaxProtect.
const MaxMasked = 1000

// twoLevel maps a first component (".config") to the second components
// of the Names with two ("fish", "git", "gimme").
var names, twoLevel = func() (map[string]bool, map[string][]string) {
	one, two := map[string]bool{}, map[string][]string{}
	for _, n := range Names {
		if a, b, ok := strings.Cut(n, "/"); ok {
			two[a] = append(two[a], b)
		} else {
			one[n] = true
		}
	}
	return one, two
}()

// Find walks the directory tree at root (absolute, clean) without
// following symbolic links or entering the directories in Skip, and
// returns the executed paths in it. Every repository found, by a .git
// directory or a .git file holding "gitdir:", has its executed parts
// listed in Protect, wherever its git directory lies inside root.
func Find(root string) (*Found, error) {
	return FindWith(root, Options{})
}

// FindWith is Find, also listing in Masked what opts.Mask chooses. With
// a Mask the walk enters the directories in Skip too, for the Mask alone.
func FindWith(root string, opts Options) (*Found, error) {
	f := &Found{Root: root, Entries: map[string]fs.FileInfo{}, Unreadable: map[string]bool{}, mask: opts.Mask, dirs: opts.dirs, packages: opts.Mask != nil && !opts.noPackages}
	if err := f.walk(root, nil, 0, false); err != nil {
		return nil, err
	}
	sort.Strings(f.Protect)
	f.Protect = dedup(f.Protect)
	if len(f.Protect) > MaxProtect {
		return nil, fmt.Errorf("find executed paths in %s: %w (%d to protect, at most %d)", root, ErrTooLarge, len(f.Protect), MaxProtect)
	}
	if err := f.finishMasked(); err != nil {
		return nil, err
	}
	return f, nil
}

// maxDepth bounds the walk's recursion. A directory deeper than that
// counts as unreadable: a new one is quarantined whole (Diff).
const maxDepth = 256

// walk lists dir and descends. maskOnly is a directory in Skip, walked
// only for Mask: its executed paths are not the walk's (npm runs what is
// there when asked to), but a secret there is masked like any other.
func (f *Found) walk(dir string, parents []string, depth int, maskOnly bool) error {
	if depth > maxDepth {
		if !maskOnly {
			f.Unreadable[dir] = true
		}
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		if !maskOnly {
			f.Unreadable[dir] = true
		}
		return nil
	}
	if f.dirs != nil {
		f.dirs(dir, false)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil && !maskOnly {
		f.Unreadable[dir] = true
	}
	if f.read += len(ents); f.read > MaxEntries {
		return fmt.Errorf("find executed paths in %s: %w (%d)", f.Root, ErrTooLarge, MaxEntries)
	}
	for _, e := range ents {
		name := e.Name()
		p := dir + "/" + name
		if f.mask != nil && f.mask(name, parents) {
			f.Masked = append(f.Masked, p)
			continue
		}
		if maskOnly {
			if e.IsDir() {
				if err := f.walk(p, append(parents, name), depth+1, true); err != nil {
					return err
				}
			}
			continue
		}
		if name[0] == '.' {
			lower := strings.ToLower(name)
			switch {
			case lower == ".git":
				f.repo(dir, p)
				continue
			case names[lower]:
				f.add(p)
				continue
			case e.IsDir() && twoLevel[lower] != nil:
				for _, sub := range twoLevel[lower] {
					f.add(p + "/" + sub)
				}
			}
		}
		if e.IsDir() && (f.packages || !skipped(name)) {
			if err := f.walk(p, append(parents, name), depth+1, skipped(name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func skipped(name string) bool {
	for _, s := range Skip {
		if name == s {
			return true
		}
	}
	return false
}

// add records p if it exists, and protects it, or for a symbolic link the
// file it leads to when that lies inside the root (a link leading out
// leads where the command cannot write).
func (f *Found) add(p string) {
	info, err := os.Lstat(p)
	if err != nil {
		return
	}
	f.Entries[p] = info
	if info.Mode()&fs.ModeSymlink == 0 {
		f.Protect = append(f.Protect, p)
		return
	}
	if t, err := filepath.EvalSymlinks(p); err == nil && Within(f.Root, t) {
		if ti, err := os.Lstat(t); err == nil {
			f.Entries[t] = ti
			f.Protect = append(f.Protect, t)
		}
	}
}

// repo records the repository whose .git entry is p, in the work tree
// worktree: a directory is its git directory; a file names one with
// "gitdir:", and is protected itself so that it cannot be pointed
// elsewhere.
func (f *Found) repo(worktree, p string) {
	info, err := os.Lstat(p)
	if err != nil {
		return
	}
	f.Entries[p] = info
	switch {
	case info.IsDir():
		f.gitDir(worktree, p, 0)
	case info.Mode()&fs.ModeSymlink != 0:
		if t, err := filepath.EvalSymlinks(p); err == nil && Within(f.Root, t) {
			f.gitDir(worktree, t, 0)
		}
	case info.Mode().IsRegular():
		f.Protect = append(f.Protect, p)
		if g := gitdirOf(p); g != "" {
			f.gitDir(worktree, g, 0)
		}
	}
}

// gitDirFiles are the parts of a git directory that git runs or reads
// for programs to run; the rest (objects, refs, index, logs) is what
// commits, fetches and checkouts write.
var gitDirFiles = []string{"hooks", "config", "config.worktree", "commondir"}

// gitDir records the git directory g of work tree worktree: its executed
// parts, the hooksPath and include targets its config names, and the
// git directories of its submodules (modules/…) and linked work trees
// (worktrees/…), and the one its commondir names.
func (f *Found) gitDir(worktree, g string, depth int) {
	if depth > 4 {
		return
	}
	if f.dirs != nil {
		f.dirs(g, true)
		for _, sub := range []string{"modules", "worktrees"} {
			f.dirs(g+"/"+sub, true)
		}
	}
	for _, n := range gitDirFiles {
		f.add(g + "/" + n)
	}
	for _, t := range configTargets(g+"/config", worktree) {
		if Within(f.Root, t) {
			f.add(t)
		}
	}
	if c := readSmall(g + "/commondir"); c != "" {
		if !filepath.IsAbs(c) {
			c = filepath.Join(g, c)
		}
		if c = filepath.Clean(c); Within(f.Root, c) && c != g {
			f.gitDir(worktree, c, depth+1)
		}
	}
	for _, sub := range []string{"modules", "worktrees"} {
		ents, _ := os.ReadDir(g + "/" + sub)
		for _, e := range ents {
			if e.IsDir() {
				f.subGitDirs(worktree, g+"/"+sub+"/"+e.Name(), depth+1)
			}
		}
	}
}

// subGitDirs records the git directories at or below d: a submodule's
// name may hold slashes (modules/a/b).
func (f *Found) subGitDirs(worktree, d string, depth int) {
	if depth > 4 {
		return
	}
	if _, err := os.Lstat(d + "/HEAD"); err == nil {
		f.gitDir(worktree, d, depth)
		return
	}
	ents, _ := os.ReadDir(d)
	for _, e := range ents {
		if e.IsDir() {
			f.subGitDirs(worktree, d+"/"+e.Name(), depth+1)
		}
	}
}

func dedup(ps []string) []string {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// gitdirOf returns the absolute git directory a .git file names, or "".
func gitdirOf(p string) string {
	s := readSmall(p)
	g, ok := strings.CutPrefix(s, "gitdir:")
	if !ok {
		return ""
	}
	g = strings.TrimSpace(g)
	if !filepath.IsAbs(g) {
		g = filepath.Join(filepath.Dir(p), g)
	}
	return filepath.Clean(g)
}

// readSmall returns the first line of a small file, trimmed, or "".
func readSmall(p string) string {
	fh, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer fh.Close()
	b, _ := io.ReadAll(io.LimitReader(fh, 4096))
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// configTargets returns the files a git config file makes git read or run
// beyond itself: core.hooksPath (relative to the work tree) and every
// include.path / includeIf.*.path (relative to the config file), made
// absolute and clean. Paths starting with ~ are left out: they lie in a
// home directory, not in a project. It reads only what git's syntax needs
// for these keys: section headers and "key = value" lines.
func configTargets(config, worktree string) []string {
	fh, err := os.Open(config)
	if err != nil {
		return nil
	}
	defer fh.Close()
	var out []string
	section := ""
	sc := bufio.NewScanner(io.LimitReader(fh, 1<<20))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			head, _, _ := strings.Cut(line[1:], "]")
			sec, _, _ := strings.Cut(strings.TrimSpace(head), " ")
			section = strings.ToLower(strings.TrimSpace(sec))
			if i := strings.IndexByte(section, '.'); i >= 0 { // [includeIf.gitdir:x]
				section = section[:i]
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.Trim(strings.TrimSpace(v), `"`)
		var base string
		switch {
		case section == "core" && k == "hookspath":
			base = worktree
		case (section == "include" || section == "includeif") && k == "path":
			base = filepath.Dir(config)
		default:
			continue
		}
		if v == "" || strings.HasPrefix(v, "~") {
			continue
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(base, v)
		}
		out = append(out, filepath.Clean(v))
	}
	return out
}

// RepoTargets returns what the repository whose work tree is dir makes
// git read or run outside its git directory: its core.hooksPath and
// included config files (configTargets), a .git file's gitdir: followed.
// It returns nil when dir holds no repository.
func RepoTargets(dir string) []string {
	g := dir + "/.git"
	info, err := os.Lstat(g)
	switch {
	case err != nil:
		return nil
	case info.Mode().IsRegular():
		if g = gitdirOf(g); g == "" {
			return nil
		}
	case !info.IsDir():
		return nil
	}
	return configTargets(g+"/config", dir)
}
