package autorun

import (
	"errors"
	"sync"
)

// Index keeps FindWith's answer for the directories commands run in, and
// keeps it true with change notifications (inotify on Linux) on every
// directory the walk listed and every git directory it read: a command's
// start then costs a look at the notifications already queued, not a
// walk. Any change under a root — an entry made, removed, renamed,
// written or its attributes changed — drops that root's answer, and the
// next Find walks again (as the code service's walk after each command
// does anyway, so the one after it starts from a fresh answer).
//
// Notifications are read before every answer, in the same call: a change
// made before Find is called is queued by the kernel in the system call
// that made it, so Find never returns an answer older than it.
//
// Where notifications cannot be had — another OS, a seccomp filter that
// refuses them, or the owner's inotify watch limit reached
// (fs.inotify.max_user_watches) — Find walks every time, as before the
// index, without entering node_modules (Skip) for the masks, and logs
// the reason once.
type Index struct {
	// Logf, when set, receives the warnings (watch limit reached).
	Logf func(format string, args ...any)

	mu      sync.Mutex
	w       watcher
	werr    error // why there is no watcher; nil while untried
	entries map[indexKey]*indexEntry
	byWatch map[int32][]indexKey
	gitWDs  map[int32]bool
	clock   uint64
	warned  bool
}

type indexKey struct {
	root string
	id   any
}

type indexEntry struct {
	found     *Found
	gen       uint64 // bumped by every change under the root
	watches   []int32
	used      uint64        // clock at the last Find, for eviction
	unwatched bool          // the watch limit was reached: always walk
	walking   chan struct{} // closed when the walk under way ends
}

// MaxIndexed bounds the roots an Index keeps; past it the least recently
// used is dropped, with its watches.
const MaxIndexed = 32

// watcher is the platform's change notification: add watches a
// directory (git: only a git directory's own parts matter), drain
// returns the watches that saw a change since the last drain, all when
// the queue overflowed.
type watcher interface {
	add(dir string) (wd int32, err error)
	remove(wd int32)
	drain(gitWDs map[int32]bool) (changed []int32, all bool)
}

// newWatcher is set by the platform's file; nil: no notifications.
var newWatcher func() (watcher, error)

// errWatchLimit is a watcher's add error when the watch limit is reached.
var errWatchLimit = errors.New("inotify watch limit reached (fs.inotify.max_user_watches)")

// Find returns FindWith(root, opts), from the index when nothing changed
// under root since it was walked for the same id (id names opts.Mask:
// callers with different masks use different ids). The answer is shared:
// do not change it.
func (ix *Index) Find(root string, id any, opts Options) (*Found, error) {
	ix.mu.Lock()
	ix.init()
	ix.drainLocked()
	k := indexKey{root, id}
	e := ix.entries[k]
	if e == nil {
		e = &indexEntry{}
		ix.entries[k] = e
		ix.evictLocked()
	}
	ix.clock++
	e.used = ix.clock
	for e.found == nil && e.walking != nil {
		// Another caller walks this root (the code service's walk after a
		// command): wait for it rather than walk beside it.
		ch := e.walking
		ix.mu.Unlock()
		<-ch
		ix.mu.Lock()
		ix.drainLocked()
	}
	if e.found != nil {
		f := e.found
		ix.mu.Unlock()
		return f, nil
	}
	done := make(chan struct{})
	e.walking = done
	ix.mu.Unlock()
	defer func() {
		ix.mu.Lock()
		if e.walking == done {
			e.walking = nil
		}
		ix.mu.Unlock()
		close(done)
	}()
	// Walk, then watch what was walked; a directory first watched after
	// it was listed may have changed in between, so walk again until
	// every listed directory was watched before it was listed.
	for range 3 {
		ix.mu.Lock()
		gen, watch := e.gen, ix.w != nil && !e.unwatched
		ix.mu.Unlock()
		var dirs, gits []string
		o := opts
		o.noPackages = !watch
		if watch {
			o.dirs = func(d string, git bool) {
				if git {
					gits = append(gits, d)
				} else {
					dirs = append(dirs, d)
				}
			}
		}
		f, err := FindWith(root, o)
		if err != nil || !watch {
			return f, err
		}
		ix.mu.Lock()
		fresh := ix.watchLocked(k, e, dirs, gits)
		ix.drainLocked()
		if e.unwatched || ix.entries[k] != e {
			ix.mu.Unlock()
			return f, nil
		}
		if !fresh && e.gen == gen {
			e.found = f
			ix.mu.Unlock()
			return f, nil
		}
		ix.mu.Unlock()
	}
	return FindWith(root, opts) // changing all the time: answer unindexed
}

func (ix *Index) init() {
	if ix.entries != nil {
		return
	}
	ix.entries, ix.byWatch, ix.gitWDs = map[indexKey]*indexEntry{}, map[int32][]indexKey{}, map[int32]bool{}
	if newWatcher == nil {
		ix.werr = errors.ErrUnsupported
		return
	}
	ix.w, ix.werr = newWatcher()
	if ix.werr != nil {
		ix.warnLocked("no change notifications (%v): every command's start walks its directory", ix.werr)
	}
}

// watchLocked adds watches for the directories a walk listed and reports
// whether any was new. At the watch limit the root is marked unwatched.
func (ix *Index) watchLocked(k indexKey, e *indexEntry, dirs, gits []string) (fresh bool) {
	have := map[int32]bool{}
	for _, wd := range e.watches {
		have[wd] = true
	}
	for i, d := range append(dirs, gits...) {
		wd, err := ix.w.add(d)
		if errors.Is(err, errWatchLimit) {
			ix.warnLocked("%v while indexing %s: its commands' starts walk it (raise fs.inotify.max_user_watches)", err, k.root)
			ix.dropWatchesLocked(k, e)
			e.unwatched = true
			return false
		}
		if err != nil {
			continue // gone since the walk: its parent's watch saw that
		}
		if i >= len(dirs) {
			ix.gitWDs[wd] = true
		}
		if !have[wd] {
			have[wd] = true
			fresh = true
			e.watches = append(e.watches, wd)
			ix.byWatch[wd] = append(ix.byWatch[wd], k)
		}
	}
	return fresh
}

// drainLocked reads the queued notifications and drops the answers of
// the roots they concern.
func (ix *Index) drainLocked() {
	if ix.w == nil {
		return
	}
	changed, all := ix.w.drain(ix.gitWDs)
	if all {
		for _, e := range ix.entries {
			e.found = nil
			e.gen++
		}
		return
	}
	for _, wd := range changed {
		for _, k := range ix.byWatch[wd] {
			if e := ix.entries[k]; e != nil {
				e.found = nil
				e.gen++
			}
		}
	}
}

func (ix *Index) evictLocked() {
	if len(ix.entries) <= MaxIndexed {
		return
	}
	var oldest indexKey
	var min uint64 = ^uint64(0)
	for k, e := range ix.entries {
		if e.used < min {
			oldest, min = k, e.used
		}
	}
	ix.dropWatchesLocked(oldest, ix.entries[oldest])
	delete(ix.entries, oldest)
}

// dropWatchesLocked removes k from its watches, and a watch no other
// root uses.
func (ix *Index) dropWatchesLocked(k indexKey, e *indexEntry) {
	for _, wd := range e.watches {
		keys := ix.byWatch[wd][:0]
		for _, o := range ix.byWatch[wd] {
			if o != k {
				keys = append(keys, o)
			}
		}
		if len(keys) == 0 {
			delete(ix.byWatch, wd)
			delete(ix.gitWDs, wd)
			ix.w.remove(wd)
		} else {
			ix.byWatch[wd] = keys
		}
	}
	e.watches = nil
}

func (ix *Index) warnLocked(format string, args ...any) {
	if ix.warned || ix.Logf == nil {
		return
	}
	ix.warned = true
	ix.Logf(format, args...)
}
