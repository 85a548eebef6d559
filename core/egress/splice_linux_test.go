package egress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bulkServer serves, to every connection, one response of size bytes
// (after reading a request), as fast as the connection takes them.
func bulkServer(t *testing.T, size int) string {
	t.Helper()
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				http.ReadRequest(bufio.NewReader(c))
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
				c.Write(bytes.Repeat([]byte("0123456789abcdef"), size/16))
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	return port
}

func loopbackOnly(context.Context, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestProxyBulkCapAcrossConnections: downloads running at once as bulk
// flows (each step reserves up to a pipe's worth of the budget) never
// hand the command more than its byte cap between them, and each
// connection's record says what it moved.
func TestProxyBulkCapAcrossConnections(t *testing.T) {
	const limit, conns = 5<<20 + 3, 4
	port := bulkServer(t, 8<<20)
	rs, err := ParseRules([]string{"127.0.0.1:" + port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := make(chan Record, conns)
	p := &Proxy{Rules: rs, MaxBytes: limit, Resolve: loopbackOnly, Record: func(r Record) { recs <- r }}
	addr := serveProxy(t, p)
	var wg sync.WaitGroup
	got := make([]int64, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer a.Close()
			a.SetDeadline(time.Now().Add(time.Minute))
			fmt.Fprintf(a, "GET http://127.0.0.1:%s/big HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n", port, port)
			got[i], _ = io.Copy(io.Discard, a)
		}()
	}
	wg.Wait()
	var sum, recorded int64
	for i := range conns {
		sum += got[i]
		select {
		case r := <-recs:
			recorded += r.Down
		case <-time.After(time.Minute):
			t.Fatalf("%d of %d records", i, conns)
		}
	}
	if sum > limit || recorded != sum {
		t.Errorf("%d connections at once got %d bytes (records: %d) past a cap of %d", conns, sum, recorded, limit)
	}
	if sum < limit-conns*(4<<10) {
		t.Errorf("%d connections got %d bytes: want about the cap %d", conns, sum, limit)
	}
}

// TestProxyPipesPooledEmpty: a download whose command stops reading and
// goes away in the middle of a bulk flow leaves no byte of it in a pipe
// that the next connection would take from the pool.
func TestProxyPipesPooledEmpty(t *testing.T) {
	port := bulkServer(t, 32<<20)
	rs, err := ParseRules([]string{"127.0.0.1:" + port}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := make(chan Record, 8)
	p := &Proxy{Rules: rs, Resolve: loopbackOnly, Record: func(r Record) { recs <- r }}
	addr := serveProxy(t, p)
	for range 4 {
		a, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		a.SetDeadline(time.Now().Add(time.Minute))
		fmt.Fprintf(a, "GET http://127.0.0.1:%s/big HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n\r\n", port, port)
		io.CopyN(io.Discard, a, 3<<20) // well into the bulk flow
		a.(*net.TCPConn).SetLinger(0)  // a reset: the proxy's next write fails
		a.Close()
		select {
		case <-recs:
		case <-time.After(time.Minute):
			t.Fatal("no record for a download the command left")
		}
	}
	for {
		select {
		case pfd := <-pipes:
			n, err := unix.IoctlGetInt(pfd[0], unix.TIOCINQ)
			if err != nil || n != 0 {
				t.Errorf("a pooled pipe holds %d bytes (%v)", n, err)
			}
			putPipe(pfd, n == 0 && err == nil)
			continue
		default:
		}
		break
	}
}
