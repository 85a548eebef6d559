package relay

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gimme-tools/carapace/core/router"
)

// BenchmarkRelay16Sessions drives the router's ping through a real tunnel
// from 16 relay sessions at once, each with one call in flight, and
// reports the calls per second the tunnel carried, and how that compares
// with one session calling alone.
func BenchmarkRelay16Sessions(b *testing.B) {
	const sessions = 16
	r := router.New(router.Options{
		OwnerUID: os.Geteuid(),
		Backends: []router.Backend{{Name: "file", Enabled: true, Socket: filepath.Join(b.TempDir(), "file.sock")}},
	})
	h := start(b, r, nil)
	rc := h.relay.next(b)
	answers := make([]chan struct{}, sessions)
	for i := range answers {
		answers[i] = make(chan struct{}, 1)
	}
	go func() { // the relay's demultiplexer
		for {
			select {
			case raw := <-rc.in:
				var f Frame
				json.Unmarshal(raw, &f)
				if i, err := strconv.Atoi(f.Session); err == nil && i < sessions {
					answers[i] <- struct{}{}
				}
			case <-rc.done:
				return
			}
		}
	}()
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	frames := make([][]byte, sessions)
	for i := range frames {
		frames[i] = appendMessage(nil, strconv.Itoa(i), msg)
	}
	run := func(i, n int) {
		for range n {
			if err := rc.c.Write(context.Background(), websocket.MessageText, frames[i]); err != nil {
				b.Error(err) // not Fatal: this runs off the benchmark's goroutine
				return
			}
			<-answers[i]
		}
	}
	for i := range sessions { // open every session
		run(i, 10)
	}
	// The same number of calls from one session, one at a time: the
	// baseline the 16 sessions are compared with, in the same run.
	t0 := time.Now()
	run(0, b.N)
	one := float64(b.N) / time.Since(t0).Seconds()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range sessions {
		n := b.N / sessions
		if i < b.N%sessions {
			n++
		}
		wg.Go(func() { run(i, n) })
	}
	wg.Wait()
	b.StopTimer()
	many := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(many, "calls/s")
	b.ReportMetric(one, "1-session-calls/s")
	b.ReportMetric(many/one, "16-vs-1")
}
