// Package fsafe opens files beneath a directory without ever leaving it.
//
// A Root is an allowed folder opened once as a directory descriptor. Every
// name handed to a Root is resolved from that descriptor, one component at a
// time or by the kernel in one call (openat2 with RESOLVE_BENEATH on Linux,
// O_NOFOLLOW_ANY on darwin), and every later operation works on the
// descriptors the resolution produced (the *at system calls), never on a
// path string resolved again. A swapped-in symbolic link or a renamed
// directory can therefore change what a name means between two calls, but
// can never make a call act outside the root.
//
// Symbolic links are followed only when their target, read as text and
// joined lexically to the link's own directory, stays inside the root; a
// Check function sees every such target before anything there is opened, so
// callers can apply deny rules and authorization to the place a link leads.
// A link whose target leaves the root fails with ErrEscape. Magic links
// (/proc/self/fd/N and the like) are never followed: their text is read like
// any other link's and walked again beneath the root.
package fsafe

import (
	"errors"
	"io/fs"
	"strings"
	"time"
)

// ErrEscape reports that resolving a name would leave the root, through a
// symbolic link that points outside it.
var ErrEscape = errors.New("symbolic link leads outside the allowed folder")

// ErrInvalid reports a relative name that is not clean: empty components,
// ".", "..", a leading slash, or a NUL byte.
var ErrInvalid = errors.New("name is not a clean relative path")

// MaxHops is the largest number of symbolic links one resolution follows,
// as Linux's MAXSYMLINKS.
const MaxHops = 40

// Check is called with every path, relative to the root, that a resolution
// reaches through a symbolic link (the link's target joined with the
// components still to walk), before anything there is opened. A non-nil
// error stops the resolution and is returned as is.
type Check func(rel string) error

// Info describes a file as fstat or fstatat (without following a final link)
// reports it.
type Info struct {
	Name    string
	Mode    fs.FileMode
	Size    int64
	ModTime time.Time
	Nlink   uint64
}

// IsValidRel reports whether rel is a clean relative name: "" for the root
// itself, or components separated by single slashes, none of them empty,
// ".", ".." or containing NUL.
func IsValidRel(rel string) bool {
	if rel == "" {
		return true
	}
	if strings.IndexByte(rel, 0) >= 0 {
		return false
	}
	for c := range strings.SplitSeq(rel, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// split returns rel's components; "" has none.
func split(rel string) []string {
	if rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// joinLink returns the root-relative path a link named in the directory done
// leads to, given its target text, or false if the target leaves the root.
// rootPath is the root's own absolute path, so an absolute target naming a
// place inside the root is accepted too.
func joinLink(rootPath string, done []string, target string) (string, bool) {
	if target == "" || strings.IndexByte(target, 0) >= 0 {
		return "", false
	}
	if strings.HasPrefix(target, "/") {
		t := cleanSlash(target)
		switch {
		case t == rootPath:
			return "", true
		case rootPath == "/":
			return strings.TrimPrefix(t, "/"), true
		case strings.HasPrefix(t, rootPath+"/"):
			return t[len(rootPath)+1:], true
		}
		return "", false
	}
	parts := append(append([]string{}, done...), strings.Split(target, "/")...)
	var out []string
	for _, p := range parts {
		switch p {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, p)
		}
	}
	return strings.Join(out, "/"), true
}

// cleanSlash cleans an absolute path lexically, as path.Clean does.
func cleanSlash(p string) string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	return "/" + strings.Join(out, "/")
}

// fastOpen, when a platform sets it, resolves a clean relative name beneath
// dirfd in one system call that refuses every symbolic link, and returns
// errNoFast when the name needs the component walk instead.
var fastOpen func(dirfd int, rel string, flag int, mode uint32) (int, error)
