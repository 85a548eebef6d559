package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// startRouter serves a router on a socket in a temporary directory.
func startRouter() (sock string, stop func()) {
	dir, _ := os.MkdirTemp("", "carapace-example-")
	sock = filepath.Join(dir, "router.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		panic(err)
	}
	srv := &rpcserver.Server{Dispatcher: router.New(router.Options{OwnerUID: os.Geteuid()})}
	go srv.Serve(l)
	return sock, func() { srv.Close(); os.RemoveAll(dir) }
}

// The original gateway's test shim: ping, echo, whoami and an unknown
// method, each printed as it came back.
func Example_shim() {
	sock, stop := startRouter()
	defer stop()
	ctx := context.Background()
	c, err := client.Dial(ctx, sock)
	if err != nil {
		fmt.Println("connect:", err)
		return
	}
	defer c.Close()

	var pong struct{ Pong bool }
	err = c.Call(ctx, "ping", map[string]any{}, &pong)
	fmt.Println("ping:", pong.Pong, err)

	var echo json.RawMessage
	err = c.Call(ctx, "echo", map[string]string{"message": "Hello, Carapace!"}, &echo)
	fmt.Println("echo:", string(echo), err)

	var who struct {
		User      string
		CallerUID int `json:"caller_uid"`
	}
	err = c.Call(ctx, "whoami", map[string]any{}, &who)
	me, _ := user.Current()
	fmt.Println("whoami: router runs as me:", who.User == me.Username, "sees my uid:", who.CallerUID == os.Geteuid(), err)

	err = c.Call(ctx, "nonexistent", map[string]any{}, nil)
	var ce *errs.Error
	fmt.Println("nonexistent:", errors.As(err, &ce) && ce.Kind.Code() == -32601, ce.Kind)
	// Output:
	// ping: true <nil>
	// echo: {"message":"Hello, Carapace!"} <nil>
	// whoami: router runs as me: true sees my uid: true <nil>
	// nonexistent: true Method not found
}

// Calls that fail say why: a router that is not running is -32007 with a
// hint naming what to do.
func ExampleDial_notRunning() {
	_, err := client.Dial(context.Background(), filepath.Join(os.TempDir(), "no-such-carapace.sock"))
	fmt.Println(err != nil)
	// Output: true
}
