//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/service"
)

func benchService(b *testing.B) (*Service, string) {
	dir := b.TempDir()
	s, err := New(Config{Folders: []Folder{{Path: dir}}}, service.AllowAll)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, dir
}

// benchCaller is the caller of the benchmarks' calls: the owner, with an
// agent's token (so reads are redacted), as in make bench's (g) cases.
var benchCaller = service.Caller{Owner: true, Token: "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"agent":"bench"}`)) + ".sig"}

// callJSON runs a handler as the service host does (mux.Run): params in,
// result encoded out.
func callJSON(b *testing.B, h service.Handler, params map[string]any) []byte {
	pj, _ := json.Marshal(params)
	resp := mux.Run(context.Background(), h, &service.Call{Params: pj, Caller: benchCaller}, slog.Default())
	if resp.Error != nil {
		b.Fatal(resp.Error.Message)
	}
	return resp.Result
}

// BenchmarkRead100MiB reads a 100 MiB file as a loop of file.read chunks
// (results marshalled to JSON), binary (base64) and text (UTF-8), and
// reports the throughput as a fraction of plain read(2) calls of the same
// chunk size on the same file ("x-of-read").
func BenchmarkRead100MiB(b *testing.B) {
	for _, kind := range []string{"binary", "text"} {
		b.Run(kind, func(b *testing.B) {
			s, dir := benchService(b)
			data := make([]byte, 100<<20)
			if kind == "binary" {
				rand.Read(data)
			} else {
				copy(data, strings.Repeat("the quick brown fox jumps over the lazy dog\n", len(data)/44+1))
			}
			p := dir + "/big"
			if err := os.WriteFile(p, data, 0o644); err != nil {
				b.Fatal(err)
			}
			base := readBaseline(b, p)
			h := s.Methods()["file.read"]
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				var r ReadResult
				for off := int64(0); ; {
					out := callJSON(b, h, map[string]any{"path": p, "offset": off, "length": MaxChunk})
					r = ReadResult{}
					json.Unmarshal(out, &r)
					off += int64(r.Length)
					if r.EOF {
						break
					}
				}
			}
			per := time.Since(start) / time.Duration(b.N)
			b.ReportMetric(float64(base)/float64(per), "x-of-read")
		})
	}
}

// readBaseline times reading path with plain MaxChunk-sized reads.
func readBaseline(b *testing.B, path string) time.Duration {
	buf := make([]byte, MaxChunk)
	best := time.Duration(1 << 62)
	for range 3 {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for {
			if _, err := f.Read(buf); err == io.EOF {
				break
			}
		}
		best = min(best, time.Since(start))
		f.Close()
	}
	return best
}

// BenchmarkList10k lists a directory of 10,000 files, following pages.
func BenchmarkList10k(b *testing.B) {
	s, dir := benchService(b)
	for i := range 10_000 {
		if err := os.WriteFile(fmt.Sprintf("%s/f%05d.txt", dir, i), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	h := s.Methods()["file.list"]
	b.ResetTimer()
	for b.Loop() {
		n, after, pages := 0, "", 0
		for {
			var l ListResult
			json.Unmarshal(callJSON(b, h, map[string]any{"path": dir, "after": after}), &l)
			n += len(l.Entries)
			pages++
			if !l.Truncated {
				break
			}
			after = l.Entries[len(l.Entries)-1].Name
		}
		if n != 10_000 {
			b.Fatalf("listed %d entries", n)
		}
		b.ReportMetric(float64(pages), "pages")
	}
}

// BenchmarkSmallRead reads a 1 KiB file through file.read, and reports the
// cost as a multiple of os.ReadFile on the same file ("x-readfile").
func BenchmarkSmallRead(b *testing.B) {
	s, dir := benchService(b)
	p := dir + "/small.txt"
	os.WriteFile(p, []byte(strings.Repeat("x", 1024)), 0o644)
	start := time.Now()
	const n = 2000
	for range n {
		os.ReadFile(p)
	}
	base := time.Since(start) / n
	h := s.Methods()["file.read"]
	b.ResetTimer()
	start = time.Now()
	for b.Loop() {
		callJSON(b, h, map[string]any{"path": p})
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(base), "x-readfile")
}

// BenchmarkAgentCalls runs the calls of the (g) cases of `make bench` in
// process, results marshalled as the service host does: file.stat of a
// small file, file.read of 4 KiB of text (redacted: the caller is the
// owner with an agent's token) and file.list of a 100-entry folder. Profile it with
// -cpuprofile to see a call's cost without the sockets. Besides ns/op
// (wall time, which other processes on a shared machine change), it
// reports the process's CPU time per call, in user space and in the
// kernel (usr-µs/op, sys-µs/op).
func BenchmarkAgentCalls(b *testing.B) {
	s, dir := benchService(b)
	os.WriteFile(dir+"/small.txt", []byte("hello\n"), 0o644)
	os.WriteFile(dir+"/4k.txt", []byte(strings.Repeat("the quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\n", 62)[:4096]), 0o644)
	os.Mkdir(dir+"/list", 0o755)
	for i := 0; i < 100; i++ {
		os.WriteFile(fmt.Sprintf("%s/list/file-%03d.go", dir, i), []byte("package x\n"), 0o644)
	}
	m := s.Methods()
	for _, c := range []struct{ name, method, path string }{
		{"stat", "file.stat", dir + "/small.txt"},
		{"read4k", "file.read", dir + "/4k.txt"},
		{"list100", "file.list", dir + "/list"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			params := map[string]any{"path": c.path}
			reportCPU(b, func() {
				for i := 0; i < b.N; i++ {
					callJSON(b, m[c.method], params)
				}
			})
		})
	}
}

// reportCPU runs f and reports the process's CPU time per b.N, in user
// space and in the kernel (getrusage: the garbage collector's work is
// counted, as it is in a service's process).
func reportCPU(b *testing.B, f func()) {
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	f()
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	n := float64(b.N) * 1e3
	b.ReportMetric(float64(r1.Utime.Nano()-r0.Utime.Nano())/n, "usr-µs/op")
	b.ReportMetric(float64(r1.Stime.Nano()-r0.Stime.Nano())/n, "sys-µs/op")
}
