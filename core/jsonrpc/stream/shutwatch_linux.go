package stream

import (
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// watcher is the epoll set LoopConns are watched on for the peer's
// shutdown (EPOLLRDHUP, edge-triggered; data does not wake it), and the
// goroutine that waits on it.
var watcher struct {
	once  sync.Once
	epfd  int
	ok    bool
	mu    sync.Mutex
	next  uint32
	conns map[uint32]watched
}

// watched is a connection on the watcher: its descriptor, and the flag
// its ReadLoop checks before it waits instead of reading.
type watched struct {
	rc   syscall.RawConn
	shut *atomic.Bool
}

// watchShutdown adds rc's descriptor to the watcher and returns its id
// (for unwatch), or false when there is no watcher (ReadLoop then reads
// with an ordinary loop).
func watchShutdown(rc syscall.RawConn, shut *atomic.Bool) (uint32, bool) {
	watcher.once.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		watcher.epfd, watcher.ok = fd, true
		watcher.conns = map[uint32]watched{}
		go watchLoop()
	})
	if !watcher.ok {
		return 0, false
	}
	watcher.mu.Lock()
	for {
		watcher.next++
		if _, used := watcher.conns[watcher.next]; !used && watcher.next != 0 {
			break
		}
	}
	id := watcher.next
	watcher.conns[id] = watched{rc, shut}
	watcher.mu.Unlock()
	var cerr error
	err := rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(id)}
		cerr = unix.EpollCtl(watcher.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err != nil || cerr != nil {
		unwatch(id)
		return 0, false
	}
	return id, true
}

// unwatch forgets id. Closing the descriptor takes it out of the epoll
// set; an event already on its way finds no connection and is dropped.
func unwatch(id uint32) {
	watcher.mu.Lock()
	delete(watcher.conns, id)
	watcher.mu.Unlock()
}

// watchLoop marks each connection whose peer shut down, then shuts down
// the reading side of this end: that raises a readiness event after the
// mark. A ReadLoop checks the mark after its read and before it waits:
// if it saw the mark, it reads again and finds the end of the stream; if
// not, its read came before the mark and so before the event, which
// therefore wakes it (the runtime merges only events that come before
// the woken reader runs). The descriptor is reached through its RawConn,
// so a connection closed meanwhile (its number perhaps reused) is never
// touched.
func watchLoop() {
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(watcher.epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			id := uint32(ev.Fd)
			watcher.mu.Lock()
			w, ok := watcher.conns[id]
			delete(watcher.conns, id)
			watcher.mu.Unlock()
			if ok {
				w.shut.Store(true)
				w.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
			}
		}
	}
}
