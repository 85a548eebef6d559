package stream

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func socketPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// TestWriterKeepsMessagesWhole sends from many goroutines, some messages
// larger than the socket buffer, to a reader that starts late: every
// message must arrive whole, each sender's in order.
func TestWriterKeepsMessagesWhole(t *testing.T) {
	c, s := socketPair(t)
	w := NewWriter(s, time.Minute, 0)
	go w.Run()
	const senders, each = 8, 60
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				pad := strings.Repeat("x", (i%7)*30000)
				if err := w.Send([]byte(fmt.Sprintf("%d %d %s", g, i, pad))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the socket fill
	r := NewReader(c, 1<<20)
	next := make([]int, senders)
	for n := 0; n < senders*each; n++ {
		line, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		var g, i int
		fields := strings.Fields(string(line))
		fmt.Sscanf(string(line), "%d %d", &g, &i)
		pad := ""
		if len(fields) == 3 {
			pad = fields[2]
		}
		if i != next[g] || len(pad) != (i%7)*30000 {
			l := string(line)
			k := strings.LastIndex(l, "xxx")
			t.Fatalf("sender %d: got message %d (pad %d, line %d), want %d; around: %q", g, i, len(pad), len(l), next[g], l[max(0, k-20):min(len(l), k+60)])
		}
		next[g]++
	}
	wg.Wait()
}

func TestWriterDeadlineOnNonReader(t *testing.T) {
	_, s := socketPair(t)
	w := NewWriter(s, 100*time.Millisecond, 0)
	done := make(chan error, 1)
	go func() { done <- w.Run() }()
	big := []byte(strings.Repeat("y", 1<<20))
	for i := 0; i < 16; i++ {
		if w.Send(big) != nil {
			break
		}
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil for a peer that never reads")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("write deadline did not end Run")
	}
	if w.Send([]byte("late")) == nil {
		t.Fatal("Send after failure succeeded")
	}
}

func TestWriterCloseFlushes(t *testing.T) {
	c, s := socketPair(t)
	w := NewWriter(s, time.Second, 0)
	go w.Run()
	for i := 0; i < 100; i++ {
		w.Send([]byte(fmt.Sprintf("m%d", i)))
	}
	w.Close(true)
	sc := bufio.NewScanner(c)
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 100 {
		t.Fatalf("got %d messages after a flushing close, want 100", n)
	}
	<-w.Done()
}
