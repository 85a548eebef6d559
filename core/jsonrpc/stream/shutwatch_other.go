//go:build !linux

package stream

import (
	"sync/atomic"
	"syscall"
)

// watchShutdown has no watcher here (it needs epoll's EPOLLRDHUP): a
// LoopConn is read with an ordinary loop.
func watchShutdown(syscall.RawConn, *atomic.Bool) (uint32, bool) { return 0, false }

func unwatch(uint32) {}
