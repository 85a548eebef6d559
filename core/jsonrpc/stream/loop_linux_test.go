package stream

import (
	"testing"
	"time"
)

// TestLoopConnWatcherForgets: a connection leaves the shutdown watcher
// when it is closed and when its peer shuts down, so connections that come
// and go leave nothing behind.
func TestLoopConnWatcherForgets(t *testing.T) {
	_, s := unixPair(t)
	probe := NewLoopConn(s)
	probe.Close()
	if probe.rc == nil {
		t.Skip("no shutdown watcher on this system")
	}
	watched := func() int {
		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		return len(watcher.conns)
	}
	before := watched()
	var conns []*LoopConn
	for i := 0; i < 20; i++ {
		client, server := unixPair(t)
		lc := NewLoopConn(server)
		conns = append(conns, lc)
		if i%2 == 0 {
			lc.Close()
		} else {
			client.Close() // the peer goes: the watcher's event
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for watched() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := watched(); n > before {
		t.Fatalf("%d connections still watched after all ended (%d before)", n, before)
	}
	for _, lc := range conns {
		lc.Close()
	}
}
