package mux

import (
	"sync"
	"testing"
	"time"
)

// TestWorkersKeepABurst: after a burst of 100 calls in flight at once,
// every worker stays for the next burst (up to maxIdleWorkers), so the
// next 100 calls start no goroutine and grow no stack; and no more than
// maxIdleWorkers stay after a larger burst.
func TestWorkersKeepABurst(t *testing.T) {
	for _, c := range []struct{ burst, idle int }{{100, 100}, {maxIdleWorkers + 50, maxIdleWorkers}} {
		burst := c.burst
		w := newWorkers()
		var started, done sync.WaitGroup
		release := make(chan struct{})
		started.Add(burst)
		done.Add(burst)
		for range burst {
			w.run(func() { started.Done(); <-release; done.Done() })
		}
		started.Wait()
		close(release)
		done.Wait()
		want := int32(c.idle)
		deadline := time.Now().Add(30 * time.Second)
		for w.idle.Load() != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := w.idle.Load(); got != want {
			t.Fatalf("after a burst of %d: %d idle workers, want %d", burst, got, want)
		}
	}
}
