package audit

import (
	"os"
	"path/filepath"
	"testing"
)

// The write benchmarks compare the fsync policies on this machine's disk:
// an allow record under SyncDeny (the default) costs a write; a deny
// record, or any record under SyncAlways, costs a write and an fsync.
func BenchmarkWriteSyncNever(b *testing.B)       { benchWrite(b, SyncNever, Allow) }
func BenchmarkWriteSyncDenyAllow(b *testing.B)   { benchWrite(b, SyncDeny, Allow) }
func BenchmarkWriteSyncDenyDeny(b *testing.B)    { benchWrite(b, SyncDeny, Deny) }
func BenchmarkWriteSyncAlwaysAllow(b *testing.B) { benchWrite(b, SyncAlways, Allow) }

func benchWrite(b *testing.B, p SyncPolicy, decision string) {
	l, err := Open(b.TempDir(), Options{Sync: p})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := rec(1, decision)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerify checks the chain check never panics on arbitrary file
// contents and that a report without a break has a head.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	l, _ := Open(dir, Options{Sync: SyncNever})
	for i := 0; i < 3; i++ {
		l.Write(rec(i, Allow))
	}
	l.Close()
	b, _ := os.ReadFile(filepath.Join(dir, ActiveName))
	f.Add(b)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := verifier{}
		err := v.data(ActiveName, data)
		if err == nil && v.rep.Records > 0 && v.rep.LastHash == "" {
			t.Fatal("records without a head hash")
		}
	})
}
