package stream

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unixPair returns both ends of a real Unix stream connection.
func unixPair(t *testing.T) (client, server *net.UnixConn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan *net.UnixConn)
	go func() { c, _ := l.AcceptUnix(); done <- c }()
	client, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	server = <-done
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

type event struct {
	msg string
	err error
}

// collect runs ReadLoop until the end of the stream, or fails the test if
// that takes more than 20 s (a missed readiness event hangs the loop).
func collect(t *testing.T, lc *LoopConn, max int) []event {
	t.Helper()
	var got []event
	done := make(chan struct{})
	go func() {
		defer close(done)
		lc.ReadLoop(max, func(msg []byte, err error) bool {
			got = append(got, event{string(msg), err})
			return err != nil && !errors.Is(err, ErrTooLarge)
		})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("ReadLoop hung after %d events", len(got))
	}
	return got
}

func sameEvents(t *testing.T, got, want []event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d:\n%v\n%v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i].msg != want[i].msg || !errors.Is(got[i].err, want[i].err) {
			t.Fatalf("event %d: %q %v, want %q %v", i, got[i].msg, got[i].err, want[i].msg, want[i].err)
		}
	}
}

// TestLoopConnMatchesReader sends random lines (blank, CRLF, oversized,
// an unterminated last one) in random chunks with pauses between them, so
// that lines are cut across reads and readiness events, and checks that
// ReadLoop sees exactly what a Reader over the same bytes sees.
func TestLoopConnMatchesReader(t *testing.T) {
	const max = 300
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 20; round++ {
		var input bytes.Buffer
		for i := 0; i < 40; i++ {
			switch rng.Intn(6) {
			case 0:
				input.WriteString("\n")
			case 1:
				input.WriteString(strings.Repeat("x", max+1+rng.Intn(5000)) + "\n")
			case 2:
				input.WriteString(`{"id":` + strings.Repeat("7", rng.Intn(max-10)) + "}\r\n")
			default:
				input.WriteString(`{"jsonrpc":"2.0","id":` + strings.Repeat("1", 1+rng.Intn(40)) + "}\n")
			}
		}
		input.WriteString(`{"last":true}`) // no newline: returned at EOF
		want := collect(t, NewLoopConn(pipeConn{Reader: bytes.NewReader(input.Bytes())}), max)

		client, server := unixPair(t)
		chunks := rand.New(rand.NewSource(int64(round)))
		go func(b []byte) {
			for len(b) > 0 {
				n := min(len(b), 1+chunks.Intn(700))
				client.Write(b[:n])
				b = b[n:]
				if chunks.Intn(3) == 0 {
					time.Sleep(time.Duration(chunks.Intn(200)) * time.Microsecond)
				}
			}
			client.CloseWrite()
		}(bytes.Clone(input.Bytes()))
		sameEvents(t, collect(t, NewLoopConn(server), max), want)
	}
}

// pipeConn is a net.Conn that only reads: the ordinary loop's path.
type pipeConn struct {
	io.Reader
	net.Conn // nil: only the methods below are used
}

func (p pipeConn) Read(b []byte) (int, error) { return p.Reader.Read(b) }

// TestLoopConnShutdownWithData: a request and the end of the stream that
// arrive together (a client that writes and shuts down at once) give the
// request and then EOF. A plain read returns the data and says nothing of
// the shutdown behind it, whose readiness event the runtime may already
// have merged with the data's: the loop would then wait for ever.
func TestLoopConnShutdownWithData(t *testing.T) {
	for i := 0; i < 300; i++ {
		client, server := unixPair(t)
		lc := NewLoopConn(server)
		go func() {
			client.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n"))
			client.CloseWrite()
		}()
		sameEvents(t, collect(t, lc, 1024), []event{{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil}, {"", io.EOF}})
		client.Close()
		server.Close()
	}
}

// TestLoopConnOneCallPerRequest: a client that sends a request and waits
// for the answer costs one system call per request, not two.
func TestLoopConnOneCallPerRequest(t *testing.T) {
	client, server := unixPair(t)
	lc := NewLoopConn(server)
	if lc.rc == nil {
		t.Skip("no edge-triggered reads on this system")
	}
	const n = 200
	go func() {
		buf := make([]byte, 64)
		for i := 0; i < n; i++ {
			client.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n"))
			client.Read(buf)
		}
		client.Close()
	}()
	count := 0
	lc.ReadLoop(1024, func(msg []byte, err error) bool {
		if err != nil {
			return true
		}
		count++
		lc.Write([]byte("{}\n"))
		return false
	})
	if count != n {
		t.Fatalf("%d messages, want %d", count, n)
	}
	// n calls with data, one for the end of the stream, and a few that
	// found nothing when an event raced a read: far fewer than 2n.
	if calls := lc.src.calls; calls > n+n/10+2 {
		t.Fatalf("%d system calls for %d requests", calls, n)
	}
	t.Logf("%d system calls for %d requests", lc.src.calls, n)
}

// TestLoopConnCloseInsideStep: closing the connection from the handler
// (as a failed write does) must not deadlock, and closes it.
func TestLoopConnCloseInsideStep(t *testing.T) {
	client, server := unixPair(t)
	lc := NewLoopConn(server)
	client.Write([]byte("a\nb\n"))
	var seen []event
	done := make(chan struct{})
	go func() {
		defer close(done)
		lc.ReadLoop(1024, func(msg []byte, err error) bool {
			seen = append(seen, event{string(msg), err})
			if err == nil {
				lc.Close()
			}
			return err != nil
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ReadLoop did not return after Close inside step")
	}
	if len(seen) != 2 || seen[0].msg != "a" || !errors.Is(seen[1].err, net.ErrClosed) {
		t.Fatalf("saw %v, want a then net.ErrClosed", seen)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read after close: %v, want EOF", err)
	}
}

// TestLoopConnCloseWhileWaiting: Close from another goroutine wakes a
// loop waiting for input.
func TestLoopConnCloseWhileWaiting(t *testing.T) {
	_, server := unixPair(t)
	lc := NewLoopConn(server)
	done := make(chan error, 1)
	go lc.ReadLoop(1024, func(msg []byte, err error) bool {
		if err != nil {
			done <- err
			return true
		}
		return false
	})
	time.Sleep(20 * time.Millisecond) // let it wait
	lc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("got %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadLoop did not return after Close")
	}
}

// TestLoopConnDeadline: a read deadline reaches step as a passing error
// and the loop goes on, keeping a line cut in two by it.
func TestLoopConnDeadline(t *testing.T) {
	client, server := unixPair(t)
	lc := NewLoopConn(server)
	client.Write([]byte(`{"half":`))
	lc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	var seen []event
	lc.ReadLoop(1024, func(msg []byte, err error) bool {
		seen = append(seen, event{string(msg), err})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			lc.SetReadDeadline(time.Time{})
			client.Write([]byte("1}\n"))
			return false
		}
		return true
	})
	if len(seen) != 2 || !errors.Is(seen[0].err, os.ErrDeadlineExceeded) || seen[1].msg != `{"half":1}` {
		t.Fatalf("saw %v", seen)
	}
}
