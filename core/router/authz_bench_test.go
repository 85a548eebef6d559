package router_test

import (
	"context"
	"testing"
)

// BenchmarkAuthorizedCall forwards an authorised call to a service through
// the router (one client, sequential): with the audit log (fsync batched)
// and without it.
func BenchmarkAuthorizedCall(b *testing.B) {
	for _, name := range []string{"audit=on", "audit=off"} {
		b.Run(name, func(b *testing.B) {
			st := startStack(b, true)
			if name == "audit=off" {
				st.auth.Audit = nil
			}
			c := authed(b, st.routerSock, st.token)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Call(ctx, "code.params", nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
