package mux

import "sync/atomic"

// maxIdleWorkers bounds the goroutines kept waiting for work. It is
// above the calls a busy router keeps in flight to one service (make
// bench's 64 clients): at 32, each burst past it ended workers and
// started fresh ones whose stacks grew again — runtime.morestack was 9 %
// of the file service's CPU in a forwarded file.stat, 1.5 % at 128. An
// idle worker costs its stack, a few KiB once the garbage collector
// has shrunk it.
const maxIdleWorkers = 128

// workers runs handlers on goroutines that outlive one call. A fresh
// goroutine starts with a small stack that a handler grows (and the
// runtime copies) on every request; a worker keeps the stack it grew
// (stack copying showed in the services' CPU profiles with a goroutine
// per request).
type workers struct {
	work chan func() // unbuffered: a send succeeds only into an idle worker
	idle atomic.Int32
}

func newWorkers() *workers { return &workers{work: make(chan func())} }

// run runs f on an idle worker, or on a new goroutine when none is idle.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	for {
		f()
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		f = <-w.work
		w.idle.Add(-1)
	}
}
