package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

func rec(i int, decision string) Record {
	return Record{Via: "unix", UID: 1000, PID: 42, Sub: "agent", JTI: "j", Iss: "https://issuer.example",
		Method: "file.read", Resource: fmt.Sprintf("/home/ann/Documents/%d.txt", i), Decision: decision,
		Reason: "", DurationUS: 12}
}

func writeN(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		d := Allow
		if i%3 == 0 {
			d = Deny
		}
		if err := l.Write(rec(i, d)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t *testing.T, path string) Report {
	t.Helper()
	r, err := Verify(path)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func TestWriteVerifyReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, l, 10)
	l.Close()
	l, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, l, 5)
	seq, head := l.Head()
	l.Close()
	r := mustVerify(t, dir)
	if r.Records != 15 || r.FirstSeq != 1 || r.LastSeq != 15 || !r.Genesis || r.LastHash != head || seq != 15 {
		t.Errorf("report %+v, head %d %s", r, seq, head)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ActiveName))
	if !strings.HasPrefix(string(b), `{"seq":1,`) || !strings.Contains(string(b), `"prev":"`+Genesis+`"`) {
		t.Errorf("first record: %.200s", b)
	}
	fi, _ := os.Stat(filepath.Join(dir, ActiveName))
	if fi.Mode().Perm() != fileMode {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}

// TestTamper edits, removes, inserts and reorders records and checks
// Verify names the line where the chain breaks.
func TestTamper(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mangle func(lines []string) []string
		line   int
	}{
		{"edit a field", func(ls []string) []string {
			ls[3] = strings.Replace(ls[3], `"decision":"deny"`, `"decision":"allow"`, 1)
			return ls
		}, 5},
		{"edit the resource", func(ls []string) []string {
			ls[2] = strings.Replace(ls[2], "Documents", "Secrets", 1)
			return ls
		}, 4},
		{"remove a record", func(ls []string) []string { return append(ls[:3], ls[4:]...) }, 4},
		{"swap two records", func(ls []string) []string { ls[5], ls[6] = ls[6], ls[5]; return ls }, 6},
		{"duplicate a record", func(ls []string) []string { return append(ls[:7], ls[6:]...) }, 8},
		{"cut the head", func(ls []string) []string { return ls[2:] }, 0}, // not a break: a later start
		{"garbage line", func(ls []string) []string { ls[1] = "hello"; return ls }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, _ := Open(dir, Options{Sync: SyncNever})
			writeN(t, l, 10)
			l.Close()
			path := filepath.Join(dir, ActiveName)
			b, _ := os.ReadFile(path)
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			os.WriteFile(path, []byte(strings.Join(tc.mangle(lines), "\n")+"\n"), 0o640)
			r, err := Verify(dir)
			var br *Break
			if tc.line == 0 {
				if err != nil || r.Genesis || r.FirstSeq != 3 {
					t.Errorf("cut head: %+v, %v; want no break, Genesis false, FirstSeq 3", r, err)
				}
				return
			}
			if !errors.As(err, &br) || br.Line != tc.line || br.File != ActiveName {
				t.Errorf("Verify = %v, want a break at %s line %d", err, ActiveName, tc.line)
			}
		})
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{})
	writeN(t, l, 3)
	l.Close()
	path := filepath.Join(dir, ActiveName)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"time":"2026-`)
	f.Close()
	var br *Break
	if _, err := Verify(dir); !errors.As(err, &br) || br.Line != 4 {
		t.Errorf("Verify torn = %v", err)
	}
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l.TornBytes == 0 {
		t.Error("Open did not report the torn tail")
	}
	writeN(t, l, 2)
	l.Close()
	if r := mustVerify(t, dir); r.Records != 5 {
		t.Errorf("after recovery: %+v", r)
	}
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{MaxSize: 2000, MaxFiles: 3, Sync: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, l, 40)
	l.Close()
	files, _ := Files(dir)
	if len(files) != 4 {
		t.Fatalf("files %v, want 3 rotated + active", files)
	}
	r := mustVerify(t, dir)
	if r.Genesis || r.LastSeq != 40 || r.Records != int(r.LastSeq-r.FirstSeq+1) {
		t.Errorf("report %+v", r)
	}
	for _, f := range files {
		if fi, _ := os.Stat(f); fi.Size() > 2000 {
			t.Errorf("%s is %d bytes, over MaxSize", f, fi.Size())
		}
	}
	// The first record of each file links to the last of the one before:
	// removing a middle file breaks the chain at the next file's line 1.
	os.Remove(files[1])
	var br *Break
	if _, err := Verify(dir); !errors.As(err, &br) || br.File != filepath.Base(files[2]) || br.Line != 1 {
		t.Errorf("Verify with a file missing = %v, want a break at %s line 1", err, filepath.Base(files[2]))
	}
	// Each file on its own verifies.
	if _, err := Verify(files[2]); err != nil {
		t.Errorf("Verify(one file): %v", err)
	}
}

func TestRotationAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{MaxSize: 1500, Sync: SyncNever})
	writeN(t, l, 7)
	l.Close()
	// Active file empty right after a rotation: Open finds the chain's end
	// in the newest rotated file.
	os.Rename(filepath.Join(dir, ActiveName), filepath.Join(dir, ActiveName+".000099"))
	l, _ = Open(dir, Options{MaxSize: 1500, Sync: SyncNever})
	writeN(t, l, 7)
	l.Close()
	if r := mustVerify(t, dir); r.Records != 14 || !r.Genesis {
		t.Errorf("report %+v", r)
	}
}

// TestFailsClosed checks that a write that cannot reach the disk returns
// an error (the router then refuses the call) and leaves no torn line.
func TestFailsClosed(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full to simulate a full disk")
	}
	dir := t.TempDir()
	l, _ := Open(dir, Options{Sync: SyncNever})
	writeN(t, l, 2)
	good := l.f
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	l.f = full
	err = l.Write(rec(9, Allow))
	if errs.KindOf(err) != errs.Unavailable || errs.ReasonOf(err) != "audit_unavailable" || errs.HintOf(err) == "" {
		t.Errorf("write to a full disk: %v", err)
	}
	l.f = good
	full.Close()
	writeN(t, l, 2)
	l.Close()
	if r := mustVerify(t, dir); r.Records != 4 {
		t.Errorf("after a failed write: %+v", r)
	}
}

func TestUnwritableDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
	_, err := Open(filepath.Join(dir, "file", "audit"), Options{})
	if errs.ReasonOf(err) != "audit_unavailable" {
		t.Errorf("Open under a file: %v", err)
	}
	l, _ := Open(t.TempDir(), Options{})
	l.Close()
	if err := l.Write(rec(0, Allow)); errs.ReasonOf(err) != "audit_unavailable" {
		t.Errorf("write after close: %v", err)
	}
}

func TestNoSecretsAndBounded(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{})
	r := rec(0, Deny)
	r.Resource = strings.Repeat("x", 100000)
	r.Method = strings.Repeat("m", 100000)
	if err := l.Write(r); err != nil {
		t.Fatal(err)
	}
	l.Close()
	b, _ := os.ReadFile(filepath.Join(dir, ActiveName))
	if len(b) > 4096 {
		t.Errorf("record line is %d bytes", len(b))
	}
	// The Record type has no field for a token, content or output.
	for _, banned := range []string{"token", "content", "output", "stdout"} {
		if bytes.Contains(bytes.ToLower(b), []byte(`"`+banned)) {
			t.Errorf("record has a %s field: %s", banned, b)
		}
	}
}

func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{MaxSize: 8000, Sync: SyncNever})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := l.Write(rec(i, Allow)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l.Close()
	if r := mustVerify(t, dir); r.LastSeq != 400 {
		t.Errorf("report %+v", r)
	}
}

func TestTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{MaxSize: 1500, Sync: SyncNever})
	writeN(t, l, 12)
	var got []uint64
	err := Tail(context.Background(), dir, 8, false, func(r Record, _ []byte) error {
		got = append(got, r.Seq)
		return nil
	})
	if err != nil || len(got) != 8 || got[0] != 5 || got[7] != 12 {
		t.Errorf("Tail = %v, %v; want seq 5..12 (across rotated files)", got, err)
	}

	// Follow picks up new records, across a rotation.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan uint64, 100)
	done := make(chan error)
	go func() {
		done <- Tail(ctx, dir, 0, true, func(r Record, _ []byte) error { seen <- r.Seq; return nil })
	}()
	time.Sleep(2 * PollInterval) // let the follower reach the end (no assertion on time)
	writeN(t, l, 10)
	for want := uint64(13); want <= 22; want++ {
		select {
		case s := <-seen:
			if s != want {
				t.Fatalf("followed seq %d, want %d", s, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("follow: no record %d", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	l.Close()
}

// TestQueueFlush: queued records are in the file once Flush returns, the
// chain is the same as with Write, and a record voided by a failed write
// makes the Flush of its range fail, never quietly succeed.
func TestQueueFlush(t *testing.T) {
	dir := t.TempDir()
	l, _ := Open(dir, Options{Sync: SyncNever})
	var ts Tickets
	if _, _, ok := ts.Take(); ok {
		t.Fatal("empty Tickets gave a range")
	}
	for i := 0; i < 5; i++ {
		tk, err := l.Queue(rec(i, Allow))
		if err != nil {
			t.Fatal(err)
		}
		ts.Add(tk)
	}
	lo, hi, ok := ts.Take()
	if !ok || lo.seq != 1 || hi.seq != 5 {
		t.Fatalf("range %v %v %v", lo, hi, ok)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ActiveName)); len(b) != 0 {
		t.Fatalf("queued records written before Flush: %d bytes", len(b))
	}
	if err := l.Flush(lo, hi); err != nil {
		t.Fatal(err)
	}
	if r := mustVerify(t, dir); r.Records != 5 {
		t.Fatalf("after Flush: %+v", r)
	}
	// A queued record voided by a failed write (another caller's Write).
	tk, _ := l.Queue(rec(6, Allow))
	ts.Add(tk)
	good := l.f
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full to simulate a full disk")
	}
	l.f = full
	if err := l.Write(rec(7, Deny)); errs.ReasonOf(err) != "audit_unavailable" {
		t.Fatalf("write to a full disk: %v", err)
	}
	l.f = good
	full.Close()
	lo, hi, _ = ts.Take()
	if err := l.Flush(lo, hi); errs.ReasonOf(err) != "audit_unavailable" {
		t.Errorf("Flush of a voided record: %v", err)
	}
	// The next calls go ahead; the chain has no gap.
	tk, _ = l.Queue(rec(8, Allow))
	if err := l.Flush(tk, tk); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if r := mustVerify(t, dir); r.Records != 6 {
		t.Errorf("final chain: %+v", r)
	}
}
