package redact

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkScan measures the scanner on this repository's Go source (4
// MiB of it, no secrets), against reading the same bytes from a file, in
// one run: make bench. The goal is 200 MiB/s or more.
func BenchmarkScan(b *testing.B) {
	text := sourceText(b, 4<<20)
	p := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(p, text, 0o600); err != nil {
		b.Fatal(err)
	}
	s := Default()
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		buf := make([]byte, 256<<10)
		reportCPU(b, len(text), func() {
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			io.CopyBuffer(io.Discard, f, buf)
			f.Close()
		})
	})
	b.Run("redact", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		reportCPU(b, len(text), func() { s.Redact(text) })
	})
	b.Run("stream-32KiB", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		reportCPU(b, len(text), func() {
			st := s.NewStream(func([]byte) {})
			for r := bytes.NewReader(text); r.Len() > 0; {
				chunk := make([]byte, 32<<10)
				n, _ := r.Read(chunk)
				st.Write(chunk[:n])
			}
			st.Close()
		})
	})
}

// BenchmarkHits measures the keyword scan alone (no rule runs), on the
// 4 KiB text of make bench's file.read case and on this repository's Go
// source, against the scan it replaced (refHits), in one run.
func BenchmarkHits(b *testing.B) {
	line := "the quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\n"
	prose := bytes.Repeat([]byte(line), 4096/len(line)+1)[:4096]
	s := Default()
	ref := newRefHits(s)
	for _, c := range []struct {
		name string
		text []byte
	}{{"text-4KiB", prose}, {"source-256KiB", sourceText(b, 256<<10)[:256<<10]}} {
		b.Run(c.name+"/one-table", func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			reportCPU(b, len(c.text), func() { s.hits(c.text) })
		})
		b.Run(c.name+"/before", func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			reportCPU(b, len(c.text), func() { ref.hits(c.text) })
		})
	}
}
