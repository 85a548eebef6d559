package mux_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// call serves tb on a Unix socket and returns the answer to one request.
func call(t *testing.T, tb *service.Table, req string) map[string]json.RawMessage {
	t.Helper()
	srv := &rpcserver.Server{Dispatcher: &mux.Mux{Table: tb}}
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("read: %v (%q)", err, line)
	}
	var resp map[string]json.RawMessage
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	return resp
}

// TestUnencodableResultIsInternalError: a result encoding/json refuses is
// an internal error (-32603), never a successful answer that carries the
// encoder's complaint; the router's own methods, run by the same Run,
// answer the same.
func TestUnencodableResultIsInternalError(t *testing.T) {
	var tb service.Table
	tb.Register("nan", func(context.Context, *service.Call) (any, error) { return math.NaN(), nil })
	resp := call(t, &tb, `{"jsonrpc":"2.0","id":1,"method":"nan"}`)
	if _, ok := resp["result"]; ok {
		t.Fatalf("an unencodable result answered as a success: %s", resp["result"])
	}
	var e struct{ Code int }
	if err := json.Unmarshal(resp["error"], &e); err != nil || e.Code != -32603 {
		t.Fatalf("error %s, want code -32603", resp["error"])
	}
}

// TestRunResults: what Run makes of each kind of outcome.
func TestRunResults(t *testing.T) {
	for _, c := range []struct {
		name   string
		h      service.Handler
		result string
		code   int
	}{
		{"nil", func(context.Context, *service.Call) (any, error) { return nil, nil }, `null`, 0},
		{"raw kept on one line", func(context.Context, *service.Call) (any, error) {
			return json.RawMessage("{\"a\":\n 1}"), nil
		}, `{"a":1}`, 0},
		{"value", func(context.Context, *service.Call) (any, error) { return map[string]int{"n": 2}, nil }, `{"n":2}`, 0},
		{"unencodable", func(context.Context, *service.Call) (any, error) { return make(chan int), nil }, ``, -32603},
		{"panic", func(context.Context, *service.Call) (any, error) { panic("boom") }, ``, -32603},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := mux.Run(context.Background(), c.h, &service.Call{Method: "m"}, discard())
			switch {
			case c.code != 0 && (r.Error == nil || r.Error.Code != c.code || r.Result != nil):
				t.Fatalf("got %+v %s, want error %d", r.Error, r.Result, c.code)
			case c.code == 0 && (r.Error != nil || string(r.Result) != c.result):
				t.Fatalf("got %+v %s, want %s", r.Error, r.Result, c.result)
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
