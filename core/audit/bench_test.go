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

// BenchmarkQueue measures what the router's call path pays for an allow
// record: encoding, hashing and queueing; the write happens with the
// forward (one per batch, measured as BenchmarkFlushOf16).
func BenchmarkQueue(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := rec(1, Allow)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		t, err := l.Queue(r)
		if err != nil {
			b.Fatal(err)
		}
		if n++; n%256 == 0 { // keep the queue bounded, off the clock
			b.StopTimer()
			l.Flush(t, t)
			b.StartTimer()
		}
	}
}

// BenchmarkFlushOf16 measures one write of 16 queued records, per record.
func BenchmarkFlushOf16(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := rec(1, Allow)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var first, last Ticket
		for i := 0; i < 16; i++ {
			last, _ = l.Queue(r)
			if i == 0 {
				first = last
			}
		}
		b.StartTimer()
		if err := l.Flush(first, last); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueueParallel is BenchmarkQueue from many goroutines at once,
// as the router's sessions queue records: what the log's lock costs.
func BenchmarkQueueParallel(b *testing.B) {
	l, err := Open(b.TempDir(), Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var ts Tickets
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		r := rec(1, Allow)
		n := 0
		for pb.Next() {
			t, err := l.Queue(r)
			if err != nil {
				b.Error(err)
				return
			}
			ts.Add(t)
			if n++; n%64 == 0 {
				lo, hi, ok := ts.Take()
				if ok {
					l.Flush(lo, hi)
				}
			}
		}
	})
}
