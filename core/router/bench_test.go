package router_test

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"testing"

	"github.com/gimme-tools/carapace/core/ratelimit"
)

// BenchmarkForward measures authorised code.echo round trips through the
// router to an in-process service (audit on), with parallel clients on
// their own connections.
func BenchmarkForward(b *testing.B) {
	// Limits far above the load: the limiter is paid for, never met.
	st := startStackWith(&testing.T{}, true, os.Geteuid(), ratelimit.Limits{PerUID: 1e9, PerSubject: 1e9})
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("unix", st.routerSock)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"auth","params":{"token":"` + st.token + `"}}` + "\n"))
		if line, err := r.ReadSlice('\n'); err != nil || !bytes.Contains(line, []byte(`"result"`)) {
			b.Errorf("auth: %v %s", err, line)
			return
		}
		msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"code.echo","params":{"msg":"hello"}}` + "\n")
		for pb.Next() {
			c.Write(msg)
			if _, err := r.ReadSlice('\n'); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
