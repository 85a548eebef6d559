//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
)

func TestMethods(t *testing.T) {
	e := newEnv(t)
	var names []string
	for n := range e.m {
		names = append(names, n)
	}
	slices.Sort(names)
	want := "file.commit file.delete file.list file.mkdir file.move file.open file.read file.search file.stat file.upload file.write"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("methods = %s, want %s", got, want)
	}
	if e.s.Name() != "file" {
		t.Errorf("Name() = %q", e.s.Name())
	}
	rw, ro := e.s.Paths()
	if !slices.Equal(rw, []string{e.docs}) || !slices.Equal(ro, []string{e.ref, e.notes}) && !slices.Equal(ro, []string{e.notes, e.ref}) {
		t.Errorf("Paths() = %v, %v", rw, ro)
	}
}

func TestWriteRead(t *testing.T) {
	e := newEnv(t)
	var w WriteResult
	e.ok("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "héllo", "mode": "create"}, &w)
	if w.Size != 6 {
		t.Errorf("size = %d", w.Size)
	}
	e.fails("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "x", "mode": "create"}, errs.Failed, "exists")
	var r ReadResult
	e.ok("file.read", map[string]any{"path": e.docs + "/new.txt"}, &r)
	if r.Content != "héllo" || r.Encoding != "utf-8" || !r.EOF || r.Mtime != w.Mtime {
		t.Errorf("read = %+v, want héllo utf-8 eof mtime %s", r, w.Mtime)
	}
	// if_mtime: the value read round-trips; a stale one is refused.
	e.ok("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "v2", "mode": "overwrite", "if_mtime": r.Mtime}, &w)
	e.fails("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "v3", "mode": "overwrite", "if_mtime": r.Mtime}, errs.Failed, "changed")
	e.fails("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "v3", "mode": "append", "if_mtime": r.Mtime}, errs.Failed, "changed")
	e.ok("file.write", map[string]any{"path": "~/Documents/new.txt", "content": "+", "mode": "append", "if_mtime": w.Mtime}, &w)
	if b, _ := os.ReadFile(e.docs + "/new.txt"); string(b) != "v2+" {
		t.Errorf("file = %q, want v2+", b)
	}
	// Binary comes back as base64.
	bin := []byte{0, 1, 2, 0xff, 'a'}
	e.ok("file.write", map[string]any{"path": "~/Documents/bin", "content": base64.StdEncoding.EncodeToString(bin), "encoding": "base64", "mode": "create"}, nil)
	e.ok("file.read", map[string]any{"path": "~/Documents/bin"}, &r)
	if got, _ := base64.StdEncoding.DecodeString(r.Content); r.Encoding != "base64" || !bytes.Equal(got, bin) {
		t.Errorf("binary read = %+v", r)
	}
	e.fails("file.write", map[string]any{"path": "~/Documents/x", "content": "x", "mode": "bogus"}, errs.InvalidParams, "bad_mode")
	e.fails("file.write", map[string]any{"path": "~/Documents/x", "content": "!", "encoding": "base64", "mode": "create"}, errs.InvalidParams, "bad_content")
	e.fails("file.write", map[string]any{"path": "~/Documents/x", "content": "x", "mode": "overwrite", "if_mtime": "yesterday"}, errs.InvalidParams, "bad_mtime")
	e.fails("file.write", map[string]any{"path": "~/Documents/nope", "content": "x", "mode": "append"}, errs.NotFound, "not_found")
	e.fails("file.read", map[string]any{"path": "~/Documents/nope"}, errs.NotFound, "not_found")
	e.fails("file.read", map[string]any{"path": "~/Documents/sub"}, errs.InvalidParams, "is_directory")
	e.fails("file.read", map[string]any{"path": "~/Documents/a.txt", "bogus": 1}, errs.InvalidParams, "")
}

// TestChunkedRead reads a file larger than a chunk as a loop of chunks, with
// text cut inside multi-byte characters, and gets it back exactly.
func TestChunkedRead(t *testing.T) {
	e := newEnv(t)
	want := []byte(strings.Repeat("aé€😀\n", 200_000)) // ~2 MB, runes of 1-4 bytes
	must(t, os.WriteFile(e.docs+"/big.txt", want, 0o644))
	var got []byte
	for off, n := int64(0), 0; ; n++ {
		var r ReadResult
		e.ok("file.read", map[string]any{"path": "~/Documents/big.txt", "offset": off, "length": MaxChunk + 1000}, &r)
		if r.Length > MaxChunk {
			t.Fatalf("chunk of %d bytes, more than MaxChunk", r.Length)
		}
		if r.Encoding != "utf-8" {
			t.Fatalf("chunk %d at %d came back as %s", n, off, r.Encoding)
		}
		got = append(got, r.Content...)
		off += int64(r.Length)
		if r.EOF {
			break
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("chunked read differs: %d bytes, want %d", len(got), len(want))
	}
}

func TestOverwriteKeepsModeAndReplacesLink(t *testing.T) {
	e := newEnv(t)
	must(t, os.WriteFile(e.docs+"/private.txt", []byte("old"), 0o600))
	e.ok("file.write", map[string]any{"path": "~/Documents/private.txt", "content": "new", "mode": "overwrite"}, nil)
	if fi, _ := os.Stat(e.docs + "/private.txt"); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after overwrite = %v, want 0600", fi.Mode().Perm())
	}
	// A link in the folder is replaced, never written through, even when it
	// points inside.
	must(t, os.Symlink("a.txt", e.docs+"/link"))
	e.ok("file.write", map[string]any{"path": "~/Documents/link", "content": "replaced", "mode": "overwrite"}, nil)
	if b, _ := os.ReadFile(e.docs + "/a.txt"); string(b) != "hello\n" {
		t.Errorf("a.txt changed through a link: %q", b)
	}
	if fi, _ := os.Lstat(e.docs + "/link"); !fi.Mode().IsRegular() {
		t.Errorf("link was not replaced by a file: %v", fi.Mode())
	}
	entries, _ := os.ReadDir(e.docs)
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			t.Errorf("temp file %s left behind", de.Name())
		}
	}
}

func TestMaxWrite(t *testing.T) {
	e := newEnv(t)
	e.s.maxWrite = 10
	e.fails("file.write", map[string]any{"path": "~/Documents/big", "content": strings.Repeat("x", 11), "mode": "create"}, errs.TooLarge, "write_too_large")
	e.ok("file.write", map[string]any{"path": "~/Documents/big", "content": "123456", "mode": "create"}, nil)
	e.fails("file.write", map[string]any{"path": "~/Documents/big", "content": "12345", "mode": "append"}, errs.TooLarge, "write_too_large")
}

func TestListStat(t *testing.T) {
	e := newEnv(t)
	must(t, os.Symlink("sub", e.docs+"/dirlink"))
	var l ListResult
	e.ok("file.list", map[string]any{"path": "~/Documents"}, &l)
	var names []string
	types := map[string]string{}
	for _, en := range l.Entries {
		names = append(names, en.Name)
		types[en.Name] = en.Type
	}
	// Deny-listed names are hidden; Reference is there (a nested folder).
	if got := strings.Join(names, " "); got != ".git Reference a.txt dirlink proj sub" {
		t.Errorf("list = %q", got)
	}
	if types["dirlink"] != "symlink" || types["sub"] != "dir" || types["a.txt"] != "file" {
		t.Errorf("types = %v", types)
	}
	e.ok("file.list", map[string]any{"path": "~/Documents", "glob": "*.txt"}, &l)
	if len(l.Entries) != 1 || l.Entries[0].Name != "a.txt" {
		t.Errorf("glob *.txt = %+v", l.Entries)
	}
	e.ok("file.list", map[string]any{"path": "~/Documents", "after": "dirlink"}, &l)
	if len(l.Entries) != 2 || l.Entries[0].Name != "proj" {
		t.Errorf("after dirlink = %+v", l.Entries)
	}
	e.ok("file.list", map[string]any{"path": "~/Documents/dirlink"}, &l) // followed: inside
	if len(l.Entries) != 1 || l.Entries[0].Name != "b.txt" {
		t.Errorf("list through dirlink = %+v", l.Entries)
	}
	var st Entry
	e.ok("file.stat", map[string]any{"path": "~/Documents/dirlink"}, &st)
	if st.Type != "symlink" || st.Target != "sub" || st.Path != e.docs+"/dirlink" {
		t.Errorf("stat dirlink = %+v", st)
	}
	e.ok("file.stat", map[string]any{"path": "~/Documents"}, &st)
	if st.Type != "dir" {
		t.Errorf("stat folder = %+v", st)
	}
	e.fails("file.list", map[string]any{"path": "~/Documents", "glob": "["}, errs.InvalidParams, "bad_glob")
	e.fails("file.list", map[string]any{"path": "~/Missing"}, errs.NotFound, "folder_unavailable")
}

func TestMkdirMoveDelete(t *testing.T) {
	e := newEnv(t)
	e.ok("file.mkdir", map[string]any{"path": "~/Documents/x/y/z", "parents": true}, nil)
	e.ok("file.mkdir", map[string]any{"path": "~/Documents/x/y/z", "parents": true}, nil)
	e.fails("file.mkdir", map[string]any{"path": "~/Documents/x/y/z"}, errs.Failed, "exists")
	e.fails("file.mkdir", map[string]any{"path": "~/Documents/p/q"}, errs.NotFound, "not_found")
	e.ok("file.move", map[string]any{"from": "~/Documents/a.txt", "to": "~/Documents/x/a.txt"}, nil)
	e.fails("file.move", map[string]any{"from": "~/Documents/x/a.txt", "to": "~/Documents/sub/b.txt"}, errs.Failed, "exists")
	e.ok("file.move", map[string]any{"from": "~/Documents/x/a.txt", "to": "~/Documents/sub/b.txt", "replace": true}, nil)
	if b, _ := os.ReadFile(e.docs + "/sub/b.txt"); string(b) != "hello\n" {
		t.Errorf("b.txt after replace = %q", b)
	}
	e.fails("file.delete", map[string]any{"path": "~/Documents/x"}, errs.InvalidParams, "is_directory")
	e.ok("file.delete", map[string]any{"path": "~/Documents/x", "recursive": true}, nil)
	if _, err := os.Stat(e.docs + "/x"); !os.IsNotExist(err) {
		t.Errorf("x still there: %v", err)
	}
	// A link is unlinked, never its target.
	must(t, os.Symlink(e.outside+"/dir", e.docs+"/out"))
	before := e.protected()
	e.ok("file.delete", map[string]any{"path": "~/Documents/out", "recursive": true}, nil)
	if e.protected() != before {
		t.Error("deleting a link changed its target")
	}
	// A tree holding a deny-listed name is refused whole, before anything goes.
	e.fails("file.delete", map[string]any{"path": "~/Documents/proj", "recursive": true}, errs.Forbidden, "denied_by_rule")
	e.fails("file.move", map[string]any{"from": "~/Documents/proj", "to": "~/Documents/proj2"}, errs.Forbidden, "denied_by_rule")
	// A tree holding a read-only nested folder cannot be deleted from above.
	e.fails("file.delete", map[string]any{"path": "~/Documents", "recursive": true}, errs.Forbidden, "allowed_folder")
	e.fails("file.move", map[string]any{"from": "~/Documents/sub", "to": "~/Documents/Reference/sub"}, errs.Forbidden, "read_only")
	if e.protected() != before {
		t.Error("protected files changed")
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	must(t, os.WriteFile(e.docs+"/sub/c.md", []byte("one\ntwo SECRET\nthree\n"), 0o644))
	must(t, os.WriteFile(e.docs+"/bin.dat", []byte("SECRET\x00\x01"), 0o644))
	must(t, os.Symlink(e.outside, e.docs+"/outlink"))
	must(t, os.Symlink("sub", e.docs+"/inlink"))
	var r SearchResult
	e.ok("file.search", map[string]any{"path": "~/Documents", "query": "SECRET"}, &r)
	if len(r.Matches) != 1 || r.Matches[0].Path != e.docs+"/sub/c.md" || r.Matches[0].Line != 2 {
		t.Errorf("search SECRET = %+v; want only sub/c.md line 2 (no deny-listed file, no binary, no link)", r)
	}
	e.ok("file.search", map[string]any{"path": "~/Documents", "query": "e", "glob": "*.txt", "limit": 1}, &r)
	if len(r.Matches) != 1 || !r.Truncated {
		t.Errorf("limit 1 = %+v", r)
	}
	e.fails("file.search", map[string]any{"path": "~/Documents", "query": ""}, errs.InvalidParams, "bad_query")
}

// TestAuthorize checks the hook sees the cleaned path and verb first, and
// every place a link leads.
func TestAuthorize(t *testing.T) {
	e := newEnv(t)
	e.ok("file.read", map[string]any{"path": "~/Documents/sub/../a.txt"}, nil)
	if len(e.calls) != 1 || e.calls[0] != "GET "+e.docs+"/a.txt" {
		t.Errorf("authorize saw %q", e.calls)
	}
	e.calls = nil
	e.ok("file.move", map[string]any{"from": "~/Documents/a.txt", "to": "~/Documents/sub/a.txt"}, nil)
	if strings.Join(e.calls, ",") != "DELETE "+e.docs+"/a.txt,PUT "+e.docs+"/sub/a.txt" {
		t.Errorf("move authorize saw %q", e.calls)
	}
	// A token for sub/ only cannot read outside sub through a link in it.
	must(t, os.Symlink("../.git/HEAD", e.docs+"/sub/head"))
	e.deny = func(verb, p string) bool { return !strings.HasPrefix(p, e.docs+"/sub") }
	e.fails("file.read", map[string]any{"path": "~/Documents/sub/head"}, errs.Forbidden, "scope")
	e.fails("file.read", map[string]any{"path": "~/Documents/a.txt"}, errs.Forbidden, "scope")
	e.deny = nil
	e.ok("file.read", map[string]any{"path": "~/Documents/sub/head"}, nil)
}

// TestWatchMissing: the configured folder that was missing at start is
// named by Missing, and WatchMissing says when it appears.
func TestWatchMissing(t *testing.T) {
	e := newEnv(t)
	missing := e.home + "/Missing"
	if got := e.s.Missing(); len(got) != 1 || got[0] != missing {
		t.Fatalf("Missing() = %v, want [%s]", got, missing)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	appeared := e.s.WatchMissing(ctx, 10*time.Millisecond)
	must(t, os.Mkdir(missing, 0o755))
	select {
	case p := <-appeared:
		if p != missing {
			t.Fatalf("appeared %q, want %q", p, missing)
		}
	case <-time.After(time.Minute):
		t.Fatal("WatchMissing did not see the folder appear")
	}
}

// TestListEntriesAsLstat: a listing's entries are what lstat says of each
// name (type, size, mtime as FormatMtime writes it), in order, and paging
// through a listing too large for one result sees every name once.
func TestListEntriesAsLstat(t *testing.T) {
	e := newEnv(t)
	dir := e.docs + "/many"
	must(t, os.Mkdir(dir, 0o755))
	long := strings.Repeat("x", 240)
	for i := range 5000 {
		must(t, os.WriteFile(fmt.Sprintf("%s/%s-%04d", dir, long, i), bytes.Repeat([]byte("y"), i%50), 0o644))
	}
	must(t, os.Symlink("nowhere", dir+"/link"))
	must(t, os.Mkdir(dir+"/sub", 0o755))
	must(t, os.Chtimes(dir+"/sub", time.Time{}, time.Date(2001, 2, 3, 4, 5, 6, 700, time.UTC)))
	seen, after, pages := 0, "", 0
	for {
		var l ListResult
		e.ok("file.list", map[string]any{"path": dir, "after": after}, &l)
		pages++
		for i, en := range l.Entries {
			info, err := os.Lstat(dir + "/" + en.Name)
			must(t, err)
			want := entryOf(fsafe.Info{Name: en.Name, Mode: info.Mode(), Size: info.Size(), ModTime: info.ModTime()})
			if en != want {
				t.Fatalf("entry %+v, lstat: %+v", en, want)
			}
			if i > 0 && l.Entries[i-1].Name >= en.Name || en.Name <= after {
				t.Fatalf("%q out of order", en.Name)
			}
		}
		seen += len(l.Entries)
		if !l.Truncated {
			break
		}
		after = l.Entries[len(l.Entries)-1].Name
	}
	if seen != 5002 || pages < 2 {
		t.Errorf("%d entries in %d pages, want 5002 in 2 or more", seen, pages)
	}
}
