package wsentry

import (
	"bufio"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/rpcserver"
)

// BenchmarkCallWebSocketVsUnix makes the same call (the router's ping) over
// the Unix socket and over the WebSocket entry, alternately, so both see
// the same machine noise, and reports each p50 and their ratio.
func BenchmarkCallWebSocketVsUnix(b *testing.B) {
	r := newRouter(b)
	unixSrv := &rpcserver.Server{Dispatcher: r}
	sock := filepath.Join(b.TempDir(), "router.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	go unixSrv.Serve(l)
	defer unixSrv.Close()
	uc, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer uc.Close()
	ur := bufio.NewReader(uc)
	unixCall := func() {
		if _, err := uc.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n")); err != nil {
			b.Fatal(err)
		}
		if _, err := ur.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
	te := startEntry(b, r, rpcserver.Limits{}, nil)
	wc := dial(b, te.url(), nil)
	wsCall := func() { call(b, wc, `{"jsonrpc":"2.0","id":1,"method":"ping"}`) }

	for range 100 { // warm up both paths
		unixCall()
		wsCall()
	}
	lu := make([]time.Duration, 0, b.N)
	lw := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		unixCall()
		t1 := time.Now()
		wsCall()
		lu = append(lu, t1.Sub(t0))
		lw = append(lw, time.Since(t1))
	}
	b.StopTimer()
	pu, pw := p50(lu), p50(lw)
	b.ReportMetric(float64(pu.Nanoseconds()), "unix-p50-ns")
	b.ReportMetric(float64(pw.Nanoseconds()), "ws-p50-ns")
	b.ReportMetric(float64(pw)/float64(pu), "ws/unix-p50")
}

func p50(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}
