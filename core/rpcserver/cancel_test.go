package rpcserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/mux"
	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// TestCancelOnlyOwnSession: $/cancelRequest cancels the handler's context
// of the request it names on the same session, and nobody else's.
func TestCancelOnlyOwnSession(t *testing.T) {
	var tb service.Table
	entered := make(chan struct{}, 1)
	tb.Register("wait", func(ctx context.Context, _ *service.Call) (any, error) {
		entered <- struct{}{}
		select {
		case <-ctx.Done():
			return "cancelled", nil
		case <-time.After(time.Minute):
			return "done", nil
		}
	})
	tb.Register("get_data", func(context.Context, *service.Call) (any, error) { return []any{"hello", 5}, nil })
	sock := startServer(t, &rpcserver.Server{Dispatcher: &mux.Mux{Table: &tb}})
	a, b := dialTest(t, sock), dialTest(t, sock)
	a.send(`{"jsonrpc":"2.0","id":7,"method":"wait"}`)
	<-entered
	// Another session names the same id: nothing happens to a's call.
	b.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}`)
	b.send(`{"jsonrpc":"2.0","id":1,"method":"get_data"}`)
	b.recv() // b's cancel has been handled before this answer
	a.silent()
	a.send(`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":7}}`)
	if got := a.recv(); !strings.Contains(got, `"cancelled"`) || !strings.Contains(got, `"id":7`) {
		t.Fatalf("a's call: %s", got)
	}
}
