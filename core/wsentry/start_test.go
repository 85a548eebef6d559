package wsentry

import (
	"testing"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

func TestStart(t *testing.T) {
	if _, err := Start(config.WebSocket{Listen: "0.0.0.0:0"}, newRouter(t), rpcserver.Limits{}, nil, nil, nil); errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("Start on 0.0.0.0: %v, want Forbidden", err)
	}
	r, err := Start(config.WebSocket{Listen: "127.0.0.1:0"}, newRouter(t), rpcserver.Limits{}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, "ws://"+r.Status().Listen+"/", nil)
	call(t, c, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	if st := r.Status(); st.Connections != 1 {
		t.Fatalf("status %+v, want 1 connection", st)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if ce := closeOf(t, c); ce.Code != 1001 {
		t.Fatalf("close %d, want 1001", ce.Code)
	}
}
