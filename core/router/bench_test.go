package router_test

import (
	"bufio"
	"net"
	"testing"
)

// BenchmarkForward measures code.params round trips through the router to
// an in-process service, with parallel clients on their own connections.
func BenchmarkForward(b *testing.B) {
	st := startStack(&testing.T{}, true)
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
