package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/jsonrpc"
	"golang.org/x/sys/unix"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count descriptors:", err)
	}
	return len(ents)
}

func TestSendFDPairsInOrder(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			dir := t.TempDir()
			before := openFDs(t)
			c, s := socketPair(t)
			w := NewWriter(s, 0, 0) // no deadline: the race detector makes the reader slow
			if batch {
				w.Batch()
			}
			go w.Run()
			const senders, each = 6, 40
			var wg sync.WaitGroup
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := sendOne(w, dir, g, i); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			fc := NewFDConn(c.(*net.UnixConn))
			r := NewReader(fc, 1<<20)
			got := 0
			for n := 0; n < senders*each; n++ {
				line, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				var m struct {
					FD  bool   `json:"fd"`
					Tag string `json:"tag"`
				}
				if err := json.Unmarshal(line, &m); err != nil {
					t.Fatalf("message %d: %v: %d bytes %.80q ... %q", n, err, len(line), line, line[max(0, len(line)-80):])
				}
				if jsonrpc.WantsFD(line) != m.FD {
					t.Fatalf("jsonrpc.WantsFD disagrees on %.60s", line)
				}
				if !m.FD {
					continue
				}
				f := fc.TakeFD()
				if f == nil {
					t.Fatalf("message %s says fd but none was queued", m.Tag)
				}
				b, err := io.ReadAll(f)
				f.Close()
				if err != nil || string(b) != m.Tag {
					t.Fatalf("message %s got the descriptor of %q (%v)", m.Tag, b, err)
				}
				got++
			}
			wg.Wait()
			if got == 0 || fc.Queued() != 0 {
				t.Fatalf("%d descriptors delivered, %d left queued", got, fc.Queued())
			}
			w.Close(true)
			<-w.Done()
			fc.Close()
			s.Close()
			if after := openFDs(t); after != before {
				t.Fatalf("open descriptors: %d before, %d after", before, after)
			}
		})
	}
}

// sendOne sends message i of sender g: every third one with a descriptor
// of a file holding its tag, some padded past the socket buffer.
func sendOne(w *Writer, dir string, g, i int) error {
	tag := fmt.Sprintf("%d-%d", g, i)
	pad := strings.Repeat("x", (i%4)*80000)
	if i%3 != 0 {
		return w.Send(fmt.Appendf(nil, `{"fd":false,"tag":%q,"pad":%q}`, tag, pad))
	}
	p := filepath.Join(dir, tag)
	if err := os.WriteFile(p, []byte(tag), 0o600); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	return w.SendFD(fmt.Appendf(nil, `{"fd":true,"tag":%q,"pad":%q}`, tag, pad), f)
}

// TestSendFDClosesOnFailure: descriptors handed to a writer that cannot
// send them are closed, not leaked.
func TestSendFDClosesOnFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("x"), 0o600)
	before := openFDs(t)
	c, s := socketPair(t)
	w := NewWriter(s, time.Second, 0)
	go w.Run()
	w.Close(false)
	<-w.Done()
	f, _ := os.Open(p)
	if err := w.SendFD([]byte(`{"fd":true}`), f); err == nil {
		t.Fatal("SendFD on a closed writer succeeded")
	}
	// A connection that is not a Unix socket cannot pass descriptors.
	a, b := net.Pipe()
	pw := NewWriter(a, time.Second, 0)
	f2, _ := os.Open(p)
	if err := pw.SendFD([]byte(`{"fd":true}`), f2); err != ErrNoFDPassing {
		t.Fatalf("SendFD over a pipe: %v, want ErrNoFDPassing", err)
	}
	a.Close()
	b.Close()
	// A peer that never reads: queued descriptors are closed with the writer.
	w2 := NewWriter(c, 0, 0)
	go w2.Run()
	for i := 0; i < 20; i++ {
		f, _ := os.Open(p)
		w2.SendFD([]byte(strings.Repeat("y", 100000)), f)
	}
	w2.Close(false)
	<-w2.Done()
	s.Close()
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors: %d before, %d after", before, after)
	}
}

// TestFDConnClosesUnclaimed: descriptors nobody took are closed with the
// connection.
func TestFDConnClosesUnclaimed(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("x"), 0o600)
	before := openFDs(t)
	c, s := socketPair(t)
	w := NewWriter(s, time.Second, 0)
	go w.Run()
	for i := 0; i < 5; i++ {
		f, _ := os.Open(p)
		if err := w.SendFD([]byte(`{"fd":true}`), f); err != nil {
			t.Fatal(err)
		}
	}
	fc := NewFDConn(c.(*net.UnixConn))
	r := NewReader(fc, 1<<20)
	for i := 0; i < 5; i++ {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if fc.Queued() != 5 {
		t.Fatalf("queued %d descriptors, want 5", fc.Queued())
	}
	w.Close(true)
	<-w.Done()
	fc.Close()
	if after := openFDs(t); after != before {
		t.Fatalf("open descriptors: %d before, %d after", before, after)
	}
}

// TestFDConnReadsAsReadMsgUnix: a descriptor FDConn receives is
// close-on-exec (a command the reader starts must not inherit it), the
// bytes come as they were sent, the peer's close is io.EOF, and a read
// deadline still holds (FDConn reads through rawRecvmsg on Linux).
func TestFDConnReadsAsReadMsgUnix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("x"), 0o600)
	c, s := socketPair(t)
	fc := NewFDConn(c.(*net.UnixConn))
	defer fc.Close()

	fc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := fc.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing sent and a deadline: %v, want a timeout", err)
	}
	fc.SetReadDeadline(time.Time{})

	w := NewWriter(s, time.Second, 0)
	go w.Run()
	f, _ := os.Open(p)
	if err := w.SendFD([]byte(`{"fd":true}`), f); err != nil {
		t.Fatal(err)
	}
	got, err := NewReader(fc, 1<<20).Next()
	if err != nil || string(got) != `{"fd":true}` {
		t.Fatalf("read %q, %v", got, err)
	}
	g := fc.TakeFD()
	if g == nil {
		t.Fatal("no descriptor received")
	}
	defer g.Close()
	flags, err := unix.FcntlInt(g.Fd(), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("received descriptor's flags %#x (%v): want close-on-exec", flags, err)
	}
	w.Close(true)
	<-w.Done()
	s.Close()
	if n, err := fc.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("read after the peer closed: %d, %v; want 0, io.EOF", n, err)
	}
}
