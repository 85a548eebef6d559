package rpcserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// errorOf returns a response line's error code and data.reason.
func errorOf(t *testing.T, line string) (int, string) {
	t.Helper()
	var r struct {
		Error *struct {
			Code int `json:"code"`
			Data struct {
				Reason string `json:"reason"`
			} `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil || r.Error == nil {
		t.Fatalf("not an error response: %s", line)
	}
	return r.Error.Code, r.Error.Data.Reason
}

func ping(t *testing.T, sock string) {
	t.Helper()
	c := dialTest(t, sock)
	defer c.c.Close()
	c.send(`{"jsonrpc":"2.0","id":1,"method":"get_data"}`)
	if got := c.recv(); !strings.Contains(got, `"hello"`) {
		t.Fatalf("ping: %s", got)
	}
}

func TestTooLargeResynchronises(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{Limits: rpcserver.Limits{MaxMessage: 4096}})
	c := dialTest(t, sock)
	// 10 MiB in one line, sent slowly while another client is served.
	done := make(chan struct{})
	go func() {
		defer close(done)
		chunk := []byte(`{"jsonrpc":"2.0","id":1,"method":"x","params":["` + strings.Repeat("a", 1<<20))
		c.c.Write(chunk)
		for i := 0; i < 9; i++ {
			c.c.Write([]byte(strings.Repeat("b", 1<<20)))
		}
		c.c.Write([]byte("\"]}\n"))
	}()
	ping(t, sock) // others are not delayed
	<-done
	if code, reason := errorOf(t, c.recv()); code != -32009 || reason != "message_too_large" {
		t.Fatalf("got %d %s, want -32009 message_too_large", code, reason)
	}
	c.send(`{"jsonrpc":"2.0","id":2,"method":"get_data"}`)
	if got := c.recv(); !strings.Contains(got, `"id":2`) {
		t.Fatalf("after resync: %s", got)
	}
}

func TestHalfLineDoesNotBlockOthers(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{})
	stalled := dialTest(t, sock)
	stalled.c.Write([]byte(`{"jsonrpc":"2.0","id":1,"meth`))
	for i := 0; i < 5; i++ {
		ping(t, sock)
	}
	// The stalled client finishing its line is served too.
	stalled.c.Write([]byte(`od":"get_data"}` + "\n"))
	if got := stalled.recv(); !strings.Contains(got, `"hello"`) {
		t.Fatalf("stalled client: %s", got)
	}
}

func TestMaxConnections(t *testing.T) {
	srv := &rpcserver.Server{Limits: rpcserver.Limits{MaxConns: 2}}
	sock := startServer(t, srv)
	a, b := dialTest(t, sock), dialTest(t, sock)
	a.send(`{"jsonrpc":"2.0","id":1,"method":"get_data"}`)
	a.recv()
	b.send(`{"jsonrpc":"2.0","id":1,"method":"get_data"}`)
	b.recv()
	c := dialTest(t, sock)
	if code, reason := errorOf(t, c.recv()); code != -32005 || reason != "too_many_connections" {
		t.Fatalf("third connection: %d %s", code, reason)
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("third connection not closed: %v", err)
	}
	a.c.Close()
	waitFor(t, func() bool { return srv.Sessions() < 2 })
	ping(t, sock)
}

func TestMaxInFlight(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{Limits: rpcserver.Limits{MaxInFlight: 2}})
	c := dialTest(t, sock)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)
	c.send(`{"jsonrpc":"2.0","id":2,"method":"slow"}`)
	c.send(`{"jsonrpc":"2.0","id":3,"method":"slow"}`)
	line := c.recv()
	if code, reason := errorOf(t, line); code != -32005 || reason != "too_many_in_flight" || !strings.Contains(line, `"id":3`) {
		t.Fatalf("third request: %s", line)
	}
}

func TestIdleTimeout(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{Limits: rpcserver.Limits{IdleTimeout: 100 * time.Millisecond}})
	c := dialTest(t, sock)
	if code, reason := errorOf(t, c.recv()); code != -32008 || reason != "idle_timeout" {
		t.Fatalf("idle: %d %s", code, reason)
	}
	if _, err := c.r.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection not closed: %v", err)
	}
}

func TestIdleTimeoutSparesSlowCalls(t *testing.T) {
	var tb service.Table
	// The idle time is long enough that the call arrives before it ends
	// even on a busy machine; the call takes longer still.
	tb.Register("wait", func(ctx context.Context, _ *service.Call) (any, error) {
		time.Sleep(3 * time.Second)
		return "done", nil
	})
	sock := startServer(t, &rpcserver.Server{Dispatcher: &mux.Mux{Table: &tb}, Limits: rpcserver.Limits{IdleTimeout: 2 * time.Second}})
	c := dialTest(t, sock)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"wait"}`)
	if got := c.recv(); !strings.Contains(got, `"done"`) {
		t.Fatalf("slow call cut by idle timeout: %s", got)
	}
}

func TestWriteDeadlineDropsNonReader(t *testing.T) {
	var tb service.Table
	big := json.RawMessage(`"` + strings.Repeat("x", 256<<10) + `"`)
	tb.Register("big", func(context.Context, *service.Call) (any, error) { return big, nil })
	tb.Register("get_data", func(context.Context, *service.Call) (any, error) { return []any{"hello", 5}, nil })
	srv := &rpcserver.Server{Dispatcher: &mux.Mux{Table: &tb}, Limits: rpcserver.Limits{WriteTimeout: 200 * time.Millisecond, MaxInFlight: 1000}}
	sock := startServer(t, srv)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for i := 0; i < 32; i++ { // 8 MiB of answers nobody reads
			if _, err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"big"}` + "\n")); err != nil {
				return
			}
		}
	}()
	ping(t, sock)
	waitFor(t, func() bool { return srv.Sessions() == 0 })
	ping(t, sock)
}

func TestHalfCloseStillAnswers(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{})
	c := dialTest(t, sock)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"get_data"}`)
	c.c.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"get_data"}`)) // no newline
	c.c.(*net.UnixConn).CloseWrite()
	got := c.recv() + c.recv()
	if !strings.Contains(got, `"id":1`) || !strings.Contains(got, `"id":2`) {
		t.Fatalf("half-closed client: %s", got)
	}
}

func TestBlankLinesIgnored(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{})
	c := dialTest(t, sock)
	c.c.Write([]byte("\n\r\n   \n"))
	c.silent()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
