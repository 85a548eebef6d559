package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fileCases makes the files the (g) cases read in docs (the dev stack's
// Documents folder) and adds each case through add: a forwarded
// file.stat of a small file, file.read of a 4 KiB text file and file.list
// of a folder of 100 files. Each answer is checked for a field only a
// result has.
func fileCases(docs string, add func(name, method, params, expect string) error) error {
	small := filepath.Join(docs, "bench-small.txt")
	if err := os.WriteFile(small, []byte("hello\n"), 0o644); err != nil {
		return err
	}
	text := filepath.Join(docs, "bench-4KiB.txt")
	line := "the quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\n" // 68 bytes
	body := strings.Repeat(line, 4096/len(line)+1)[:4096]
	if err := os.WriteFile(text, []byte(body), 0o644); err != nil {
		return err
	}
	dir := filepath.Join(docs, "bench-100")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d.go", i)), []byte("package x\n"), 0o644); err != nil {
			return err
		}
	}
	q := func(p string) string { return `{"path":"` + p + `"}` }
	for _, c := range []struct{ name, method, params, expect string }{
		{"(g1) file.stat of a small file, forwarded (token, audit on)", "stat", q(small), `"mtime"`},
		{"(g2) file.read of 4 KiB text, forwarded (token, audit, redaction)", "read", q(text), `"eof":true`},
		{"(g3) file.list of 100 entries, forwarded (token, audit on)", "list", q(dir), `"file-099.go"`},
	} {
		if err := add(c.name, c.method, c.params, c.expect); err != nil {
			return err
		}
	}
	return nil
}

// fileRatios prints the (g) cases against the two-process echo chain (b)
// and their targets.
func fileRatios(by map[string]result) {
	b := by["(b)"]
	for _, t := range []struct {
		key       string
		tput, p50 float64
	}{{"(g1)", 1.0, 1.25}, {"(g2)", 0.8, 1.5}, {"(g3)", 0.5, 2.5}} {
		g, ok := by[t.key]
		if !ok || b.rps == 0 {
			continue
		}
		fmt.Printf("%s/(b) throughput %.2f (target ≥ %.2f), p50 %.2f (target ≤ %.2f)\n",
			t.key, g.rps/b.rps, t.tput, float64(g.p50)/float64(b.p50), t.p50)
	}
}
