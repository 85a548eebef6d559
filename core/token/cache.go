package token

import "sync"

const defaultCacheSize = 4096

// cache remembers verified tokens by the SHA-256 of their raw text, so a
// steady stream of calls pays one signature check per token. Entries are
// tagged with the keyring's generation: a key reload invalidates them.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[[32]byte]cacheEntry
}

type cacheEntry struct {
	gen uint64
	t   *Verified
}

func newCache(size int) *cache {
	if size == 0 {
		size = defaultCacheSize
	}
	return &cache{max: size, m: map[[32]byte]cacheEntry{}}
}

func (c *cache) get(key [32]byte, gen uint64) (*Verified, bool) {
	if c.max < 0 {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || e.gen != gen {
		return nil, false
	}
	return e.t, true
}

// put adds t. When full it drops an arbitrary half: the cache only saves
// work, so losing entries costs a signature check, never a wrong answer.
func (c *cache) put(key [32]byte, gen uint64, t *Verified) {
	if c.max < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		n := len(c.m) / 2
		for k := range c.m {
			if n--; n < 0 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{gen, t}
}
