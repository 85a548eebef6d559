package servicehost

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/service"
)

// echoService answers echo.say with "said".
type echoService struct{}

func (echoService) Name() string { return "echo" }
func (echoService) Methods() map[string]service.Handler {
	return map[string]service.Handler{"echo.say": func(context.Context, *service.Call) (any, error) { return "said", nil }}
}

// TestNilAuthorizeRefuses: a host started without a token check refuses
// every call, its own methods and the ones it answers itself, rather than
// serve them unchecked.
func TestNilAuthorizeRefuses(t *testing.T) {
	h := New(echoService{}, Options{RouterUID: os.Geteuid()})
	sock := filepath.Join(t.TempDir(), "echo.sock")
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
	r := bufio.NewReader(c)
	for i, m := range []string{"echo.say", "echo.ping", "echo.echo"} {
		fmt.Fprintf(c, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":{},"caller":{"uid":%d}}`+"\n", i+1, m, os.Geteuid())
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(line, `"no_authorizer"`) {
			t.Errorf("%s without an authorizer: %s", m, strings.TrimSpace(line))
		}
	}
}
