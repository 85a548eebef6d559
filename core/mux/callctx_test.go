package mux

import (
	"context"
	"errors"
	"testing"
	"time"
)

// closed reports whether ch closes within a generous budget.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// TestCallCtx: a call's context is cancelled by its cancel, before or
// after the handler first asks for Done, and by the end of its session;
// contexts derived from it follow.
func TestCallCtx(t *testing.T) {
	t.Run("cancel before Done", func(t *testing.T) {
		c := &callCtx{Context: context.Background()}
		c.cancel()
		if !errors.Is(c.Err(), context.Canceled) || !closed(c.Done()) {
			t.Fatalf("err %v", c.Err())
		}
	})
	t.Run("cancel after Done, derived", func(t *testing.T) {
		c := &callCtx{Context: context.Background()}
		if c.Err() != nil {
			t.Fatal(c.Err())
		}
		d, stop := context.WithTimeout(c, time.Hour)
		defer stop()
		c.cancel()
		if !closed(c.Done()) || !closed(d.Done()) || !errors.Is(d.Err(), context.Canceled) {
			t.Fatalf("err %v, derived %v", c.Err(), d.Err())
		}
	})
	t.Run("session ends", func(t *testing.T) {
		sess, end := context.WithCancel(context.Background())
		c := &callCtx{Context: sess}
		end()
		if !errors.Is(c.Err(), context.Canceled) || !closed(c.Done()) {
			t.Fatalf("err %v", c.Err())
		}
	})
}
