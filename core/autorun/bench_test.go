package autorun

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gimme-tools/carapace/core/denyread"
)

// BenchmarkFind walks a tree shaped like a checkout of a web project: 40
// repositories of 250 source files each in 25 directories, each with a
// node_modules of 2,500 files (skipped), as the code service does before
// and after every command whose root is the folder holding them.
func BenchmarkFind(b *testing.B) {
	root := b.TempDir()
	for r := 0; r < 40; r++ {
		repo := filepath.Join(root, fmt.Sprintf("proj%d", r))
		for _, d := range []string{".git/hooks", ".git/objects", "node_modules/x"} {
			os.MkdirAll(filepath.Join(repo, d), 0o755)
		}
		os.WriteFile(filepath.Join(repo, ".git/config"), []byte("[core]\n"), 0o644)
		for i := 0; i < 2500; i++ {
			os.WriteFile(filepath.Join(repo, "node_modules/x", fmt.Sprint(i)), nil, 0o644)
		}
		for d := 0; d < 25; d++ {
			dir := filepath.Join(repo, "src", fmt.Sprint(d))
			os.MkdirAll(dir, 0o755)
			for i := 0; i < 10; i++ {
				os.WriteFile(filepath.Join(dir, fmt.Sprint(i, ".go")), nil, 0o644)
			}
		}
	}
	b.Run("40repos-10k-files", func(b *testing.B) {
		for b.Loop() {
			if _, err := Find(root); err != nil {
				b.Fatal(err)
			}
		}
	})
	one := filepath.Join(root, "proj0")
	b.Run("1repo-250-files", func(b *testing.B) {
		for b.Loop() {
			if _, err := Find(one); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDenyRead measures what the deny_read globs add to the walk the
// code service makes before every command: a project of 100,000 files
// (1,000 directories of 100), ten of them secrets, with the 15 default
// globs (core/denyread.Default). "walk" is Find alone, "walk+deny_read"
// the same walk asking the matcher about every entry, "match" the
// matcher alone over the same 101,000 names — the added cost, which no
// other process on the machine changes, unlike the walks'; "index" a
// command's start with the inotify index at steady state (make bench):
//
//	go test ./core/autorun -run '^$' -bench DenyRead -benchtime 10x
func BenchmarkDenyRead(b *testing.B) {
	root := b.TempDir()
	var names []string
	for d := 0; d < 1000; d++ {
		dir := filepath.Join(root, "src", fmt.Sprint("pkg", d))
		os.MkdirAll(dir, 0o755)
		names = append(names, fmt.Sprint("pkg", d))
		for i := 0; i < 100; i++ {
			n := fmt.Sprint("file", i, ".go")
			if d%100 == 0 && i == 0 {
				n = ".env"
			}
			os.WriteFile(filepath.Join(dir, n), nil, 0o644)
			names = append(names, n)
		}
	}
	m, err := denyread.New(denyread.Default)
	if err != nil {
		b.Fatal(err)
	}
	mask := func(name string, parents []string) bool { return m.Name(name, parents) != "" }
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			if _, err := Find(root); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk+deny_read", func(b *testing.B) {
		for b.Loop() {
			f, err := FindWith(root, Options{Mask: mask})
			if err != nil || len(f.Masked) != 10 {
				b.Fatalf("%v, masked %d", err, len(f.Masked))
			}
		}
	})
	// A command's start with the index at steady state: nothing changed
	// since the last walk, so Find reads the queued notifications (none)
	// and answers.
	ix := &Index{Logf: b.Logf}
	if f, err := ix.Find(root, 1, Options{Mask: mask}); err != nil || len(f.Masked) != 10 {
		b.Fatalf("%v", err)
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			f, err := ix.Find(root, 1, Options{Mask: mask})
			if err != nil || len(f.Masked) != 10 {
				b.Fatalf("%v, masked %d", err, len(f.Masked))
			}
		}
	})
	// After a change: one file made in one of the 1,000 directories, then
	// a command's start (the walk again, on the index's watches).
	b.Run("index-after-change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			os.WriteFile(filepath.Join(root, "src", "pkg7", fmt.Sprint("new", i)), nil, 0o644)
			if _, err := ix.Find(root, 1, Options{Mask: mask}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("match", func(b *testing.B) {
		parents := []string{"src", "pkg"}
		for b.Loop() {
			for _, n := range names {
				mask(n, parents)
			}
		}
	})
}

// BenchmarkDenyReadPackages measures what masking inside node_modules
// costs: a project of 10,000 source files beside a node_modules of
// 1,500 packages (75,000 files in 9,000 directories), with the 15 default
// globs. "source-only" walks as before (node_modules skipped), "with
// node_modules" enters it for the masks, "index" is a command's start
// with the index at steady state (make bench-secrets).
func BenchmarkDenyReadPackages(b *testing.B) {
	root := b.TempDir()
	for d := 0; d < 100; d++ {
		dir := filepath.Join(root, "src", fmt.Sprint("pkg", d))
		os.MkdirAll(dir, 0o755)
		for i := 0; i < 100; i++ {
			os.WriteFile(filepath.Join(dir, fmt.Sprint("file", i, ".go")), nil, 0o644)
		}
	}
	for p := 0; p < 1500; p++ {
		for d := 0; d < 5; d++ {
			dir := filepath.Join(root, "node_modules", fmt.Sprint("pkg", p), fmt.Sprint("lib", d))
			os.MkdirAll(dir, 0o755)
			for i := 0; i < 10; i++ {
				os.WriteFile(filepath.Join(dir, fmt.Sprint("m", i, ".js")), nil, 0o644)
			}
		}
	}
	os.WriteFile(filepath.Join(root, "node_modules", "pkg7", ".npmrc"), nil, 0o644)
	m, err := denyread.New(denyread.Default)
	if err != nil {
		b.Fatal(err)
	}
	mask := func(name string, parents []string) bool { return m.Name(name, parents) != "" }
	// Masks without entering node_modules: the walk before this change.
	b.Run("source-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := Find(root); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("with-node_modules", func(b *testing.B) {
		for b.Loop() {
			f, err := FindWith(root, Options{Mask: mask})
			if err != nil || len(f.Masked) != 1 {
				b.Fatalf("%v, masked %d", err, len(f.Masked))
			}
		}
	})
	ix := &Index{Logf: b.Logf}
	ix.Find(root, 1, Options{Mask: mask})
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if f, err := ix.Find(root, 1, Options{Mask: mask}); err != nil || len(f.Masked) != 1 {
				b.Fatal(err)
			}
		}
	})
}
