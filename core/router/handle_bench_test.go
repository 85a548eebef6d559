package router_test

import (
	"context"
	"os"
	"testing"

	"github.com/gimme-tools/carapace/core/peer"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// BenchmarkHandleEcho measures the router's own work for one echo call,
// without the connection's system calls: the line parsed, dispatched,
// answered and encoded into a sink that drops it. Compare with
// BenchmarkForward for what the sockets add.
func BenchmarkHandleEcho(b *testing.B) {
	r := router.New(router.Options{OwnerUID: os.Geteuid()})
	srv := &rpcserver.Server{Dispatcher: r}
	info := rpcserver.ConnInfo{Creds: peer.Creds{UID: os.Geteuid(), PID: os.Getpid()}, Via: peer.ViaUnix}
	sess, err := srv.NewSession(context.Background(), info, func([]byte) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"msg":"hello"}}`)
	b.ReportAllocs()
	for b.Loop() {
		sess.Handle(line)
	}
}
