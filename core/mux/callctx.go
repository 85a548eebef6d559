package mux

import (
	"context"
	"sync"
)

// callCtx is a handler's context: the session's, which a $/cancelRequest
// for the call also cancels. Its own cancellation is made only when the
// handler first asks for Done: most handlers (an echo, a stat, a read)
// never do, and then a call costs no context.WithCancel — whose
// registration with the session's context, shared by every call the
// router multiplexes over the connection, is a lock and a map insert and
// delete per call.
type callCtx struct {
	context.Context // the session's

	mu        sync.Mutex
	inner     context.Context // WithCancel(session), from the first Done
	stop      context.CancelFunc
	cancelled bool
}

// Done returns a channel closed when the call is cancelled or the session
// ends.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.stop = context.WithCancel(c.Context)
		if c.cancelled {
			c.stop()
		}
	}
	return c.inner.Done()
}

// Err reports context.Canceled once the call is cancelled, else the
// session's error.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.inner != nil:
		return c.inner.Err()
	case c.cancelled:
		return context.Canceled
	}
	return c.Context.Err()
}

// cancel cancels the call.
func (c *callCtx) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
	if c.stop != nil {
		c.stop()
	}
}
