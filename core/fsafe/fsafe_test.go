//go:build linux || darwin || freebsd || netbsd || openbsd

package fsafe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree makes root/ and outside/ in a temporary directory:
//
//	root/a.txt "A", root/sub/b.txt "B", outside/secret.txt "SECRET",
//
// plus the links in links (name in root -> target text).
func tree(t testing.TB, links map[string]string) (rootDir, outside string) {
	t.Helper()
	base := t.TempDir()
	rootDir, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{rootDir + "/sub", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(rootDir+"/a.txt", "A")
	write(rootDir+"/sub/b.txt", "B")
	write(outside+"/secret.txt", "SECRET")
	for name, target := range links {
		target = strings.ReplaceAll(target, "$ROOT", rootDir)
		target = strings.ReplaceAll(target, "$OUT", outside)
		if err := os.Symlink(target, filepath.Join(rootDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return rootDir, outside
}

var testLinks = map[string]string{
	"in":          "a.txt",
	"dirin":       "sub",
	"absin":       "$ROOT/sub/b.txt",
	"out":         "../outside/secret.txt",
	"absout":      "$OUT/secret.txt",
	"dirout":      "../outside",
	"chain1":      "chain2",
	"chain2":      "sub/../in",
	"chainout":    "dirin/../out",
	"loop1":       "loop2",
	"loop2":       "loop1",
	"proc":        "/proc/self/root/etc/passwd",
	"sub/up":      "../a.txt",
	"sub/upout":   "../../outside/secret.txt",
	"sub/dotdots": "../../root/a.txt",
	"dangling":    "nothing",
	"self":        ".",
}

func TestOpen(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "walk"}[walk], func(t *testing.T) {
			defer ForceWalk(walk)()
			rootDir, _ := tree(t, testLinks)
			r, err := OpenRoot(rootDir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, tc := range []struct {
				rel  string
				want string // content, or "escape", "invalid", "error"
			}{
				{"a.txt", "A"},
				{"sub/b.txt", "B"},
				{"in", "A"},
				{"dirin/b.txt", "B"},
				{"absin", "B"},
				{"chain1", "A"},
				{"sub/up", "A"},
				{"self/a.txt", "A"},
				{"self/self/dirin/b.txt", "B"},
				{"out", "escape"},
				{"absout", "escape"},
				{"dirout/secret.txt", "escape"},
				{"chainout", "escape"},
				{"sub/upout", "escape"},
				{"sub/dotdots", "escape"},
				{"proc", "escape"},
				{"loop1", "error"},
				{"dangling", "error"},
				{"missing", "error"},
				{"a.txt/x", "error"},
				{"../outside/secret.txt", "invalid"},
				{"sub/../a.txt", "invalid"},
				{"./a.txt", "invalid"},
				{"/etc/passwd", "invalid"},
				{"sub//b.txt", "invalid"},
				{"a\x00.txt", "invalid"},
			} {
				f, err := r.Open(tc.rel, os.O_RDONLY, nil)
				got := "error"
				switch {
				case errors.Is(err, ErrEscape):
					got = "escape"
				case errors.Is(err, ErrInvalid):
					got = "invalid"
				case err == nil:
					b, _ := io.ReadAll(f)
					f.Close()
					got = string(b)
				}
				if got != tc.want {
					t.Errorf("Open(%q) = %q (err %v), want %q", tc.rel, got, err, tc.want)
				}
			}
		})
	}
}

// TestCheckSeesEveryHop verifies the Check function is given each target a
// link leads to, so deny rules apply to where a link points.
func TestCheckSeesEveryHop(t *testing.T) {
	for _, walk := range []bool{false, true} {
		defer ForceWalk(walk)()
		rootDir, _ := tree(t, map[string]string{"l1": "l2", "l2": "sub/b.txt", "dirl": "sub"})
		r, err := OpenRoot(rootDir)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		f, err := r.Open("l1", os.O_RDONLY, func(rel string) error { seen = append(seen, rel); return nil })
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if strings.Join(seen, ",") != "l2,sub/b.txt" {
			t.Errorf("walk=%v: Check saw %q, want l2,sub/b.txt", walk, seen)
		}
		deny := errors.New("denied")
		_, err = r.Open("l1", os.O_RDONLY, func(rel string) error {
			if rel == "sub/b.txt" {
				return deny
			}
			return nil
		})
		if err != deny {
			t.Errorf("walk=%v: Open through a denied target = %v, want the Check's error", walk, err)
		}
		// Parent reports the whole path reached, the last name included.
		seen = nil
		d, _, err := r.Parent("dirl/x", func(rel string) error { seen = append(seen, rel); return nil })
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		if strings.Join(seen, ",") != "sub/x" {
			t.Errorf("walk=%v: Parent's Check saw %q, want sub/x", walk, seen)
		}
		r.Close()
	}
}

func TestDirOps(t *testing.T) {
	rootDir, outside := tree(t, testLinks)
	r, err := OpenRoot(rootDir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, name, err := r.Parent("dirin/new.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if name != "new.txt" {
		t.Fatalf("Parent name = %q", name)
	}
	f, tmp, err := d.CreateTemp(".x-", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("N")
	f.Close()
	if err := Rename(d, tmp, d, name, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(rootDir + "/sub/new.txt"); string(b) != "N" {
		t.Fatalf("sub/new.txt = %q", b)
	}
	if err := Rename(d, "b.txt", d, name, false); !os.IsExist(err) {
		t.Errorf("Rename without replace over an existing name = %v, want exist", err)
	}
	// A link is removed, never its target.
	top, _ := r.OpenDir("", nil)
	defer top.Close()
	if err := top.Remove("out", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside + "/secret.txt"); err != nil {
		t.Errorf("removing a link touched its target: %v", err)
	}
	if _, err := top.OpenFile("in", os.O_RDONLY, 0); err == nil {
		t.Error("Dir.OpenFile followed a link")
	}
	info, err := top.Lstat("dirin")
	if err != nil || info.Mode&os.ModeSymlink == 0 {
		t.Errorf("Lstat(dirin) = %v, %v; want a link", info.Mode, err)
	}
	if _, err := top.OpenDir("dirout"); err == nil {
		t.Error("Dir.OpenDir followed a link out")
	}
}

// TestNames reads a directory whose entries fill several getdents
// buffers, twice through one Dir, and against os.ReadDir.
func TestNames(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 200)
	for i := range 600 {
		name := fmt.Sprintf("%s-%04d", long, i)
		if i%7 == 0 {
			name = fmt.Sprintf("é %d\n\x01", i) // any byte but / and NUL
		}
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d, err := r.OpenDir("", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name())
	}
	for range 2 {
		got, err := d.Names()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Names: %d names, want %d (%q…)", len(got), len(want), got[:min(3, len(got))])
		}
	}
}
