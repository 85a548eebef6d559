package managed

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher holds the current policy and reads it again when the file
// changes (polled: inotify would miss a policy appearing under a
// directory that did not exist) or when Reload is called (`carapace
// config reload`, SIGHUP).
type Watcher struct {
	override string
	cur      atomic.Pointer[Policy]
	mu       sync.Mutex
	stamp    stamp
	// OnChange, when set (before Run), is called with each policy read
	// that differs in its file from the one before, by Run or Reload.
	OnChange func(*Policy)
}

// stamp is what tells a changed file: where it is, its inode, size,
// modification and change times.
type stamp struct {
	path              string
	ino, size         uint64
	mtime, ctime, err string
}

// NewWatcher returns a watcher holding the policy Locate finds for
// override.
func NewWatcher(override string) *Watcher {
	w := &Watcher{override: override}
	w.Reload()
	return w
}

// Policy returns the current policy (never nil).
func (w *Watcher) Policy() *Policy { return w.cur.Load() }

// Reload reads the policy again now and returns it; OnChange is told
// when the file differs from the one read before.
func (w *Watcher) Reload() *Policy {
	w.mu.Lock()
	p, over, _ := Locate(w.override)
	st := stampOf(p)
	changed := st != w.stamp
	w.stamp = st
	pol := Load(p, over)
	w.cur.Store(pol)
	w.mu.Unlock()
	if changed && w.OnChange != nil {
		w.OnChange(pol)
	}
	return pol
}

// Run polls the file every interval until ctx ends, reloading on a change.
func (w *Watcher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p, _, _ := Locate(w.override)
			w.mu.Lock()
			same := stampOf(p) == w.stamp
			w.mu.Unlock()
			if !same {
				w.Reload()
			}
		}
	}
}

func stampOf(p string) stamp {
	if p == "" {
		return stamp{}
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return stamp{path: p, err: err.Error()}
	}
	s := stamp{path: p, size: uint64(fi.Size()), mtime: fi.ModTime().String()}
	fillStamp(&s, fi)
	return s
}
