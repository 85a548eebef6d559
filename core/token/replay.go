package token

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// DefaultReplayMax bounds the jtis a ReplayCache remembers at once.
const DefaultReplayMax = 1 << 17

// ReplayCache remembers the jtis of used one-time tokens until they
// expire. With a file, each use is appended and synced before Consume
// returns, so a restart does not make a used token usable again.
type ReplayCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // jti → forget after
	max  int
	f    *os.File
	now  func() time.Time
}

type replayLine struct {
	JTI   string `json:"jti"`
	Until int64  `json:"until"`
}

// NewReplayCache returns a cache persisted in path ("" for memory only),
// holding at most max jtis (0 for DefaultReplayMax). It loads path, drops
// expired entries and rewrites it compactly.
func NewReplayCache(path string, max int) (*ReplayCache, error) {
	return newReplayCache(path, max, time.Now)
}

func newReplayCache(path string, max int, now func() time.Time) (*ReplayCache, error) {
	if max <= 0 {
		max = DefaultReplayMax
	}
	c := &ReplayCache{seen: map[string]time.Time{}, max: max, now: now}
	if path == "" {
		return c, nil
	}
	if err := c.load(path); err != nil {
		return nil, err
	}
	var b []byte
	for jti, until := range c.seen {
		line, _ := json.Marshal(replayLine{jti, until.Unix()})
		b = append(append(b, line...), '\n')
	}
	if err := writeAtomic(path, b, 0o600); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("replay cache: %w", err)
	}
	c.f = f
	return c, nil
}

// load reads path; a torn last line (a crash mid-append) is ignored.
func (c *ReplayCache) load(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replay cache: %w", err)
	}
	defer f.Close()
	now := c.now()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l replayLine
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.JTI == "" {
			continue
		}
		if until := time.Unix(l.Until, 0); until.After(now) {
			c.seen[l.JTI] = until
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("replay cache %s: %w", path, err)
	}
	return nil
}

// Used reports whether jti was consumed and has not expired yet.
func (c *ReplayCache) Used(jti string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.seen[jti]
	return ok && c.now().Before(until)
}

// Consume marks jti used until the given time. It fails with reason
// "replayed" if jti is already marked, and fails closed (the call is
// refused) when the use cannot be recorded.
func (c *ReplayCache) Consume(jti string, until time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if u, ok := c.seen[jti]; ok && now.Before(u) {
		return fail(errs.ReasonReplayed, "one-time token %s was already used", jti)
	}
	if len(c.seen) >= c.max {
		c.prune(now)
		if len(c.seen) >= c.max {
			return errs.E("token.consume", errs.RateLimited, errs.ReasonReplayCacheFull,
				errs.Hint("too many one-time tokens are live at once; wait for some to expire"),
				fmt.Errorf("%d one-time tokens remembered", len(c.seen)))
		}
	}
	if c.f != nil {
		line, _ := json.Marshal(replayLine{jti, until.Unix() + 1})
		if _, err := c.f.Write(append(line, '\n')); err != nil {
			return errs.E("token.consume", errs.Failed, errs.ReasonReplayCacheUnwritable, err)
		}
		if err := c.f.Sync(); err != nil {
			return errs.E("token.consume", errs.Failed, errs.ReasonReplayCacheUnwritable, err)
		}
	}
	c.seen[jti] = until
	return nil
}

func (c *ReplayCache) prune(now time.Time) {
	for j, u := range c.seen {
		if !now.Before(u) {
			delete(c.seen, j)
		}
	}
}

// Close closes the cache's file.
func (c *ReplayCache) Close() error {
	if c.f == nil {
		return nil
	}
	return c.f.Close()
}
