package servicehost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/rpcserver"
	"github.com/gimme-tools/carapace/core/service"
)

// slowService answers slow.wait once release is closed.
type slowService struct {
	release chan struct{}
	waiting sync.WaitGroup
}

func (s *slowService) Name() string { return "slow" }
func (s *slowService) Methods() map[string]service.Handler {
	return map[string]service.Handler{"slow.wait": func(ctx context.Context, _ *service.Call) (any, error) {
		s.waiting.Done()
		<-s.release
		return "done", nil
	}}
}

// TestRouterConnectionCarriesAllAdmittedCalls: the router sends every
// caller's calls over one or a few connections, so a service must not hold
// a router connection to one caller's in-flight limit: with callers
// limited to 4 in flight each, one connection carrying 40 calls at once
// gets 40 answers, no -32005.
func TestRouterConnectionCarriesAllAdmittedCalls(t *testing.T) {
	const calls = 40
	svc := &slowService{release: make(chan struct{})}
	svc.waiting.Add(calls)
	lim := rpcserver.Limits{MaxInFlight: 4, MaxConns: 16}
	if got := RouterInFlight(lim); got != 64 {
		t.Fatalf("RouterInFlight = %d, want 16×4", got)
	}
	h := New(svc, Options{RouterUID: os.Geteuid(), Limits: lim, Authorize: service.AllowAll})
	sock := filepath.Join(t.TempDir(), "slow.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve(l)
	defer h.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= calls; i++ {
		fmt.Fprintf(c, `{"jsonrpc":"2.0","id":%d,"method":"slow.wait","params":{},"caller":{"uid":%d}}`+"\n", i, os.Geteuid())
	}
	all := make(chan struct{})
	go func() { svc.waiting.Wait(); close(all) }()
	select {
	case <-all: // all 40 are being handled at once
	case <-time.After(20 * time.Second):
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		t.Fatalf("not every call reached the service; first answer: %s", strings.TrimSpace(line))
	}
	close(svc.release)
	r := bufio.NewReader(c)
	for i := 0; i < calls; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Result string          `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &resp); err != nil || resp.Result != "done" {
			t.Fatalf("answer %d: %s", i, strings.TrimSpace(line))
		}
	}
}
