package rpcserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// specTable implements the methods the JSON-RPC 2.0 specification's
// section 7 examples call.
func specTable() *service.Table {
	var t service.Table
	t.Register("subtract", func(_ context.Context, c *service.Call) (any, error) {
		var pos []float64
		if json.Unmarshal(c.Params, &pos) == nil && len(pos) == 2 {
			return pos[0] - pos[1], nil
		}
		var named struct{ Minuend, Subtrahend *float64 }
		if json.Unmarshal(c.Params, &named) == nil && named.Minuend != nil && named.Subtrahend != nil {
			return *named.Minuend - *named.Subtrahend, nil
		}
		return nil, errs.E(errs.InvalidParams)
	})
	t.Register("sum", func(_ context.Context, c *service.Call) (any, error) {
		var xs []float64
		if err := json.Unmarshal(c.Params, &xs); err != nil {
			return nil, errs.E(errs.InvalidParams, err)
		}
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s, nil
	})
	t.Register("get_data", func(context.Context, *service.Call) (any, error) {
		return []any{"hello", 5}, nil
	})
	for _, n := range []string{"notify_hello", "notify_sum", "update"} {
		t.Register(n, func(context.Context, *service.Call) (any, error) { return nil, nil })
	}
	t.Register("boom", func(context.Context, *service.Call) (any, error) { panic("boom") })
	t.Register("slow", func(ctx context.Context, _ *service.Call) (any, error) {
		select {
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
		return "slow", nil
	})
	return &t
}

// startServer serves srv on a Unix socket in a temp dir and returns its path.
func startServer(t *testing.T, srv *rpcserver.Server) string {
	t.Helper()
	if srv.Dispatcher == nil {
		srv.Dispatcher = &mux.Mux{Table: specTable()}
	}
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

type testConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialTest(t *testing.T, sock string) *testConn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &testConn{t: t, c: c, r: bufio.NewReaderSize(c, 1<<20)}
}

func (tc *testConn) send(s string) {
	tc.t.Helper()
	if _, err := tc.c.Write([]byte(s + "\n")); err != nil {
		tc.t.Fatal(err)
	}
}

// recv reads one response line, failing after 10 s.
func (tc *testConn) recv() string {
	tc.t.Helper()
	tc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := tc.r.ReadString('\n')
	if err != nil {
		tc.t.Fatalf("recv: %v (got %q)", err, line)
	}
	return line
}

// silent asserts nothing arrives before a following ping's answer.
func (tc *testConn) silent() {
	tc.t.Helper()
	tc.send(`{"jsonrpc":"2.0","id":"sentinel","method":"get_data"}`)
	got := tc.recv()
	if !jsonEqual(got, `{"jsonrpc":"2.0","id":"sentinel","result":["hello",5]}`) {
		tc.t.Fatalf("expected no response before the sentinel, got %s", got)
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(normalise(x), normalise(y))
}

// normalise drops error data (ours adds reason and hint) and sorts batch
// responses by id, which the specification allows in any order.
func normalise(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if e, ok := v["error"].(map[string]any); ok {
			delete(e, "data")
		}
		return v
	case []any:
		for i := range v {
			v[i] = normalise(v[i])
		}
		sort.Slice(v, func(i, j int) bool {
			a, _ := json.Marshal(v[i].(map[string]any)["id"])
			b, _ := json.Marshal(v[j].(map[string]any)["id"])
			return string(a) < string(b)
		})
		return v
	}
	return v
}

// TestSpecificationExamples replays section 7 of the JSON-RPC 2.0
// specification, request for request.
func TestSpecificationExamples(t *testing.T) {
	sock := startServer(t, &rpcserver.Server{})
	for _, tc := range []struct {
		name, req, want string // want "" means no response
	}{
		{"positional", `{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}`, `{"jsonrpc": "2.0", "result": 19, "id": 1}`},
		{"positional 2", `{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}`, `{"jsonrpc": "2.0", "result": -19, "id": 2}`},
		{"named", `{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}`, `{"jsonrpc": "2.0", "result": 19, "id": 3}`},
		{"named 2", `{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}`, `{"jsonrpc": "2.0", "result": 19, "id": 4}`},
		{"notification", `{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}`, ``},
		{"notification 2", `{"jsonrpc": "2.0", "method": "foobar"}`, ``},
		{"no method", `{"jsonrpc": "2.0", "method": "foobar", "id": "1"}`, `{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}`},
		{"invalid json", `{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`, `{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
		{"invalid request", `{"jsonrpc": "2.0", "method": 1, "params": "bar"}`, `{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"batch invalid json", `[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]`, `{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
		{"empty batch", `[]`, `{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
		{"batch of one non-object", `[1]`, `[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]`},
		{"batch of non-objects", `[1,2,3]`, `[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]`},
		{"batch", `[
			{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
			{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
			{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
			{"foo": "boo"},
			{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
			{"jsonrpc": "2.0", "method": "get_data", "id": "9"}
		]`, `[
			{"jsonrpc": "2.0", "result": 7, "id": "1"},
			{"jsonrpc": "2.0", "result": 19, "id": "2"},
			{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
			{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
			{"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
		]`},
		{"batch of notifications", `[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]`, ``},
		// Beyond the examples: the rest of sections 4 and 5.
		{"null id is a request", `{"jsonrpc":"2.0","method":"get_data","id":null}`, `{"jsonrpc":"2.0","id":null,"result":["hello",5]}`},
		{"fractional id", `{"jsonrpc":"2.0","method":"get_data","id":1.5}`, `{"jsonrpc":"2.0","id":1.5,"result":["hello",5]}`},
		{"object id", `{"jsonrpc":"2.0","method":"get_data","id":{}}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"wrong version", `{"jsonrpc":"1.0","method":"get_data","id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"missing version", `{"method":"get_data","id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"case matters", `{"JSONRPC":"2.0","method":"get_data","id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"scalar params", `{"jsonrpc":"2.0","method":"get_data","params":3,"id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"null params", `{"jsonrpc":"2.0","method":"get_data","params":null,"id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"invalid params", `{"jsonrpc":"2.0","method":"subtract","params":{"x":1},"id":8}`, `{"jsonrpc":"2.0","id":8,"error":{"code":-32602,"message":"Invalid params"}}`},
		{"internal error", `{"jsonrpc":"2.0","method":"boom","id":9}`, `{"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"Internal error"}}`},
		{"json but not a request", `"hello"`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}`},
		{"trailing garbage", `{"jsonrpc":"2.0","method":"get_data","id":1} x`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialTest(t, sock)
			c.send(compactLine(tc.req))
			if tc.want == "" {
				c.silent()
				return
			}
			if got := c.recv(); !jsonEqual(got, tc.want) {
				t.Errorf("request %s\n got %s\nwant %s", tc.req, got, tc.want)
			}
		})
	}
}

// compactLine puts a multi-line example on one line, as the framing needs;
// invalid JSON is sent as it is, with its newlines removed.
func compactLine(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v)
		return string(b)
	}
	out := []byte{}
	for _, c := range []byte(s) {
		if c != '\n' && c != '\t' {
			out = append(out, c)
		}
	}
	return string(out)
}
