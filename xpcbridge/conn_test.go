package xpcbridge

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/peer"
)

// fakeEndpoint records what a msgConn sends, standing in for XPC.
type fakeEndpoint struct {
	mu       sync.Mutex
	sent     []string
	canceled bool
}

func (f *fakeEndpoint) send(msg []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, string(msg))
	return nil
}

func (f *fakeEndpoint) cancel() { f.mu.Lock(); f.canceled = true; f.mu.Unlock() }

func newTestConn() (*msgConn, *fakeEndpoint) {
	c := newMsgConn(addr("com.gimme.local.test"), addr("pid 7"), peer.Creds{UID: 501, GID: 20, PID: 7})
	ep := &fakeEndpoint{}
	c.attach(ep)
	return c, ep
}

func TestWriteLinesBecomeMessages(t *testing.T) {
	c, ep := newTestConn()
	writes := []string{`{"a":1}` + "\n" + `{"b"`, `:2}` + "\n\n", `{"c":3}`, "\n"}
	for _, w := range writes {
		if n, err := c.Write([]byte(w)); err != nil || n != len(w) {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	want := []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}
	if !reflect.DeepEqual(ep.sent, want) {
		t.Errorf("sent %q, want %q", ep.sent, want)
	}
}

func TestMessagesBecomeLines(t *testing.T) {
	c, _ := newTestConn()
	msgs := []string{`{"jsonrpc":"2.0","id":1,"result":"x"}`, `[{"jsonrpc":"2.0","id":2,"result":null}]`}
	go func() {
		for _, m := range msgs {
			c.deliver([]byte(m))
		}
		c.detach()
	}()
	sc := bufio.NewScanner(c)
	var got []string
	for sc.Scan() {
		got = append(got, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, msgs) {
		t.Errorf("read %q, want %q", got, msgs)
	}
}

func TestSmallReads(t *testing.T) {
	c, _ := newTestConn()
	c.deliver([]byte("abcdef"))
	c.detach()
	var got []byte
	buf := make([]byte, 4)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "abcdef\n" {
		t.Errorf("read %q", got)
	}
}

func TestCloseCancelsAndFails(t *testing.T) {
	c, ep := newTestConn()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !ep.canceled {
		t.Error("Close did not cancel the XPC connection")
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := c.Write([]byte("x\n")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	c.deliver([]byte("dropped")) // must not block once closed
}

func TestWriteAfterPeerGone(t *testing.T) {
	c, ep := newTestConn()
	c.detach()
	if _, err := c.Write([]byte("x\n")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write after the peer left: %v", err)
	}
	c.attach(ep) // a late attach must not revive a gone transport
	if _, err := c.Write([]byte("x\n")); err == nil || len(ep.sent) != 0 {
		t.Errorf("a late attach revived the transport: sent %q", ep.sent)
	}
}

func TestLongLineRefused(t *testing.T) {
	c, ep := newTestConn()
	if _, err := c.Write(make([]byte, MaxMessage+1)); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Write of an unterminated %d-byte line: %v", MaxMessage+1, err)
	}
	if _, err := c.Write([]byte("ok\n")); err != nil || !reflect.DeepEqual(ep.sent, []string{"ok"}) {
		t.Errorf("after a refused line: %v, sent %q", err, ep.sent)
	}
}

func TestReadDeadline(t *testing.T) {
	c, _ := newTestConn()
	if err := c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v", err)
	}
	// Clearing the deadline lets a later Read wait for data again.
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	c.deliver([]byte("x"))
	if n, err := c.Read(make([]byte, 2)); err != nil || n != 2 {
		t.Errorf("Read after clearing the deadline: %d, %v", n, err)
	}
	// A deadline set while a Read waits wakes it.
	done := make(chan error)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("blocked Read after a deadline was set: %v", err)
	}
}

func TestPeerCredsThroughPeerPackage(t *testing.T) {
	c, _ := newTestConn()
	got, err := peer.FromConn(c)
	if err != nil || got != (peer.Creds{UID: 501, GID: 20, PID: 7}) {
		t.Errorf("peer.FromConn = %v, %v", got, err)
	}
	if c.RemoteAddr().Network() != "xpc" || c.LocalAddr().String() != "com.gimme.local.test" {
		t.Errorf("addrs %v %v", c.LocalAddr(), c.RemoteAddr())
	}
}

var _ net.Conn = (*msgConn)(nil)
var _ peer.Conn = (*msgConn)(nil)
