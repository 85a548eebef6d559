package autorun

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
