package rpcserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

type fileResult struct{ f *os.File }

func (r fileResult) Result() any    { return map[string]bool{"fd": true} }
func (r fileResult) File() *os.File { return r.f }

// TestMuxPassesFileResult: a handler's FileResult reaches a Unix session
// as a descriptor, in a single answer and in a batch; a session that is
// not "unix" gets fd_not_allowed and the descriptor is closed.
func TestMuxPassesFileResult(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	os.WriteFile(p, []byte("payload"), 0o600)
	var table service.Table
	table.Register("open", func(context.Context, *service.Call) (any, error) {
		f, err := os.Open(p)
		return fileResult{f}, err
	})
	for _, via := range []string{"", "websocket"} {
		srv := &rpcserver.Server{Dispatcher: &mux.Mux{Table: &table}, Via: service.Via(via)}
		sock := filepath.Join(dir, via+"s.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(l)
		defer srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := client.Dial(ctx, sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		f, err := c.CallFD(ctx, "open", nil, nil)
		if via == "websocket" {
			var ce *errs.Error
			if !errors.As(err, &ce) || ce.Reason != "fd_not_allowed" || ce.Kind.Code() != -32003 {
				t.Fatalf("via %s: %v, want fd_not_allowed", via, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "payload" {
			t.Fatalf("descriptor holds %q", b)
		}
		// In a batch the descriptors ride with the array; Batch closes them.
		calls := []*client.BatchCall{{Method: "open"}, {Method: "open"}, {Method: "open", Notify: true}}
		if err := c.Batch(ctx, calls); err != nil || calls[0].Err != nil || calls[1].Err != nil {
			t.Fatalf("batch: %v %v %v", err, calls[0].Err, calls[1].Err)
		}
	}
}
