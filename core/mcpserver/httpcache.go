package mcpserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"sync"
	"time"
)

// The HTTP transport keeps the servers it built, each with its router
// session and its tokens already authenticated, for a short while, so
// that an agent's next request does not authenticate every token again
// and rebuild the tool list (about a millisecond each time).
//
// A server is found again only by exactly the same tokens in the same
// order: the key is a hash of them, and the tokens themselves are
// compared too, so two token sets never share a server, a router session
// or an answer. Keeping a server keeps nothing the router would refuse:
// the router checks each call's token (expiry, revocation, scope) again;
// a kept server is dropped when its first token expires, and once the
// router has answered one of its calls "unauthenticated" (a token revoked
// since), so that the next request is 401 as without the cache.
const (
	cacheTTL  = time.Minute // a kept server is rebuilt at least this often
	cacheSize = 32          // servers kept at most (each holds a router session)
)

type cacheKey [sha256.Size]byte

func keyOf(tokens []string) cacheKey {
	h := sha256.New()
	for _, t := range tokens {
		h.Write([]byte(t))
		h.Write([]byte{0}) // no token holds a NUL: "ab","c" ≠ "a","bc"
	}
	var k cacheKey
	h.Sum(k[:0])
	return k
}

// kept is one cached server and the requests using it.
type kept struct {
	s       *Server
	tokens  []string
	expires time.Time
	users   int
	dropped bool // no longer in the cache: closed when the last user is done
}

// serverCache is a small cache of built servers by token set.
type serverCache struct {
	now func() time.Time

	mu sync.Mutex
	m  map[cacheKey]*kept
}

func newServerCache() *serverCache {
	return &serverCache{now: time.Now, m: map[cacheKey]*kept{}}
}

// get returns the server kept for exactly tokens, and the function to
// call when the request is done with it; ok is false when none is kept.
func (c *serverCache) get(tokens []string) (s *Server, done func(), ok bool) {
	k := keyOf(tokens)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil || !sameTokens(e.tokens, tokens) {
		return nil, nil, false
	}
	if !c.now().Before(e.expires) || e.s.link.refused.Load() {
		c.dropLocked(k, e)
		return nil, nil, false
	}
	e.users++
	return e.s, c.release(e), true
}

// put keeps s, built for tokens, until expires (or cacheTTL from now,
// whichever is sooner), and returns the function to call when the request
// that built it is done. A server already expired, or built while
// another request built one for the same tokens, serves only its own
// request.
func (c *serverCache) put(tokens []string, s *Server, expires time.Time) (done func()) {
	e := &kept{s: s, tokens: slices.Clone(tokens), users: 1, dropped: true}
	now := c.now()
	if ttl := now.Add(cacheTTL); expires.IsZero() || ttl.Before(expires) {
		expires = ttl
	}
	e.expires = expires
	k := keyOf(tokens)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[k]; now.Before(expires) && (old == nil || !now.Before(old.expires)) {
		if old != nil {
			c.dropLocked(k, old)
		}
		c.evictLocked(now)
		e.dropped = false
		c.m[k] = e
	}
	return c.release(e)
}

// evictLocked makes room for one more: the expired go, then the one
// expiring first.
func (c *serverCache) evictLocked(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.expires) {
			c.dropLocked(k, e)
		}
	}
	for len(c.m) >= cacheSize {
		var first cacheKey
		var fe *kept
		for k, e := range c.m {
			if fe == nil || e.expires.Before(fe.expires) {
				first, fe = k, e
			}
		}
		c.dropLocked(first, fe)
	}
}

func (c *serverCache) dropLocked(k cacheKey, e *kept) {
	delete(c.m, k)
	e.dropped = true
	if e.users == 0 {
		go e.s.Close()
	}
}

func (c *serverCache) release(e *kept) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			e.users--
			last := e.users == 0 && e.dropped
			c.mu.Unlock()
			if last {
				e.s.Close()
			}
		})
	}
}

// sameTokens compares in constant time per token, so the cache's timing
// says nothing about how close a guess came.
func sameTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	same := 1
	for i := range a {
		same &= subtle.ConstantTimeCompare([]byte(a[i]), []byte(b[i]))
	}
	return same == 1
}
