package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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

// fileWrite times writing a 200 MiB file (its source in the page cache)
// into the dev stack's Documents folder: cp, cp followed by an fsync of
// the copy (`sync FILE`), and `carapace file write --from` through
// file.upload's pipe — a new file (named once its bytes are in the page
// cache, as cp leaves it), a new file with --sync and an existing file
// replaced (both flushed before they are named: docs/file.md,
// "Durability") — and through JSON chunks; each a whole process as a
// person runs it, best of several runs. It prints the throughput ratios
// against cp, and the durable writes' against cp + sync.
func fileWrite(bin, sock, docs, scratch string) error {
	const size = 200 << 20
	src := filepath.Join(scratch, "bench-200MiB.src")
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte(i*7 + i>>9)
	}
	if err := os.WriteFile(src, buf, 0o644); err != nil {
		return err
	}
	defer os.Remove(src)
	dst := filepath.Join(docs, "bench-200MiB.bin")
	defer os.Remove(dst)
	env := []string{"GIMME_SOCKET=" + sock, "HOME=" + filepath.Dir(docs), "PATH=/usr/bin:/bin"}
	write := []string{bin, "file", "write", dst, "--from", src, "--mode", "overwrite"}
	cases := []struct {
		name    string
		argv    []string
		runs    int
		replace bool // dst exists before the run
	}{
		{"cp SRC FILE", []string{"cp", src, dst}, 5, false},
		{"cp SRC FILE && sync FILE (durable)", []string{"sh", "-c", `cp "$0" "$1" && sync "$1"`, src, dst}, 5, false},
		{"carapace file write FILE --from SRC, a new file (file.upload: pipe, O_TMPFILE)", write, 5, false},
		{"carapace file write FILE --from SRC --sync, a new file, durable", append(write[:len(write):len(write)], "--sync"), 5, false},
		{"carapace file write FILE --from SRC, replacing a file (durable)", write, 5, true},
		{"carapace file write --chunks (file.write, JSON + base64)", append(write[:len(write):len(write)], "--chunks"), 1, false},
	}
	// Rounds interleave the cases, and each run starts with nothing left
	// to write back (sync), so the disk's backlog falls on none of them.
	best := make([]time.Duration, len(cases))
	for r := 0; r < 5; r++ {
		for i, c := range cases {
			if r >= c.runs {
				continue
			}
			os.Remove(dst)
			if c.replace {
				if err := os.WriteFile(dst, []byte("the old content\n"), 0o644); err != nil {
					return err
				}
			}
			syscall.Sync()
			d, err := timeToDevNull(c.argv, env)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if st, err := os.Stat(dst); err != nil || st.Size() != size {
				return fmt.Errorf("%s: the copy is not %d bytes: %v", c.name, size, err)
			}
			if best[i] == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	for i, c := range cases {
		fmt.Fprintf(os.Stderr, "  %-60s %8.0f MiB/s\n", c.name, float64(size)/(1<<20)/best[i].Seconds())
	}
	fmt.Println()
	fmt.Println("| write 200 MiB into an allowed folder (best run, process start included) | MiB/s | × cp | × cp + sync |")
	fmt.Println("|---|---|---|---|")
	for i, c := range cases {
		fmt.Printf("| %s | %.0f | %.2f | %.2f |\n", c.name, float64(size)/(1<<20)/best[i].Seconds(),
			best[0].Seconds()/best[i].Seconds(), best[1].Seconds()/best[i].Seconds())
	}
	fmt.Printf("file write via file.upload, a new file / cp: %.2f (target ≥ 0.5); durable (--sync / replacing) / cp + sync: %.2f / %.2f\n",
		best[0].Seconds()/best[2].Seconds(), best[1].Seconds()/best[3].Seconds(), best[1].Seconds()/best[4].Seconds())
	return nil
}
