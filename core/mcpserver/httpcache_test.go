package mcpserver

import (
	"fmt"
	"testing"
	"time"
)

// fakeServer is a Server with no router connection, for the cache.
func fakeServer() *Server { return &Server{link: &link{}} }

// TestServerCacheKeepsTokenSetsApart: a server is found again only by
// exactly the tokens it was built for — not a subset, a superset, another
// order or a concatenation that hashes alike if joined naively.
func TestServerCacheKeepsTokenSetsApart(t *testing.T) {
	c := newServerCache()
	a, b := fakeServer(), fakeServer()
	c.put([]string{"tokA"}, a, time.Time{})()
	c.put([]string{"tokB"}, b, time.Time{})()
	if s, done, ok := c.get([]string{"tokA"}); !ok || s != a {
		t.Fatalf("tokA: got %p ok=%v, want %p", s, ok, a)
	} else {
		done()
	}
	if s, done, ok := c.get([]string{"tokB"}); !ok || s != b {
		t.Fatalf("tokB: got %p ok=%v, want %p", s, ok, b)
	} else {
		done()
	}
	for _, other := range [][]string{{"tokA", "tokB"}, {"tokB", "tokA"}, {"tok", "A"}, {"tokAtokB"}, {"toka"}, {}, {"tokA", ""}} {
		if s, _, ok := c.get(other); ok {
			t.Errorf("%q got the server of another token set (%p)", other, s)
		}
	}
}

// TestServerCacheExpires: a kept server is not served at or after its
// first token's expiry, nor after cacheTTL, nor once the router refused
// its token; an already expired one is never kept.
func TestServerCacheExpires(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newServerCache()
	c.now = func() time.Time { return now }
	c.put([]string{"short"}, fakeServer(), now.Add(10*time.Second))()
	c.put([]string{"long"}, fakeServer(), now.Add(time.Hour))()
	c.put([]string{"gone"}, fakeServer(), now.Add(-time.Second))()
	if _, _, ok := c.get([]string{"gone"}); ok {
		t.Error("a server whose token had expired was kept")
	}
	now = now.Add(10 * time.Second)
	if _, _, ok := c.get([]string{"short"}); ok {
		t.Error("served at its token's expiry")
	}
	if _, done, ok := c.get([]string{"long"}); !ok {
		t.Error("dropped before cacheTTL")
	} else {
		done()
	}
	refused := fakeServer()
	c.put([]string{"revoked"}, refused, now.Add(time.Hour))()
	refused.link.refused.Store(true)
	if _, _, ok := c.get([]string{"revoked"}); ok {
		t.Error("served after the router refused its token")
	}
	now = now.Add(cacheTTL)
	if _, _, ok := c.get([]string{"long"}); ok {
		t.Error("served after cacheTTL")
	}
}

// TestServerCacheBounded: at most cacheSize servers are kept, and one
// dropped while a request uses it is closed only when that request is
// done.
func TestServerCacheBounded(t *testing.T) {
	c := newServerCache()
	first := fakeServer()
	inUse := c.put([]string{"t0"}, first, time.Time{})
	for i := 1; i <= cacheSize; i++ {
		c.put([]string{fmt.Sprint("t", i)}, fakeServer(), time.Now().Add(time.Hour+time.Duration(i)*time.Second))()
	}
	c.mu.Lock()
	n, e0 := len(c.m), c.m[keyOf([]string{"t0"})]
	c.mu.Unlock()
	if n > cacheSize {
		t.Errorf("%d servers kept, at most %d", n, cacheSize)
	}
	if e0 != nil {
		t.Fatal("the server expiring first was not the one dropped")
	}
	if _, _, ok := c.get([]string{"t0"}); ok {
		t.Error("a dropped server was served")
	}
	inUse()
	inUse() // a second call is harmless
}
