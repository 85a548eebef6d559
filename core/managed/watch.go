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
	// OnChange, when set, is called with each policy read that differs
	// in its file from the one before.
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

// Reload reads the policy again now and returns it.
func (w *Watcher) Reload() *Policy {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, over, _ := Locate(w.override)
	w.stamp = stampOf(p)
	pol := Load(p, over)
	w.cur.Store(pol)
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
				pol := w.Reload()
				if w.OnChange != nil {
					w.OnChange(pol)
				}
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
