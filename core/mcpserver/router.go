package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/token"
)

// held is what the router said about one token at auth.
type held struct {
	Aud   string   `json:"aud"`
	Scope []string `json:"scope"` // canonical long form, "GET:file.local.gimme.tools/home/ann/Docs/*"
	Exp   int64    `json:"exp"`
	Sub   string   `json:"sub"`
}

// link is the server's connection to the router with the agent's tokens.
// A connection the router closed is dialled again, and every token sent
// again, before the next call; a call in flight when it broke is not
// repeated (it may have been done).
type link struct {
	dial   func(ctx context.Context) (*client.Client, error)
	tokens []string
	viaSet bool // the session is already Via "mcp": do not declare it

	mu   sync.Mutex
	c    *client.Client
	held map[string]held // by audience

	// refused is set when the router answered a call "unauthenticated"
	// (a token expired or revoked since auth): the HTTP transport then
	// keeps this server no longer, and the next request authenticates
	// again (and is 401).
	refused atomic.Bool
}

// connect dials and authenticates every token. A token the router refuses
// is an error that names it by position, so the person who started the
// server learns at once which one is stale.
func (l *link) connect(ctx context.Context) (*client.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		return l.c, nil
	}
	c, err := l.dial(ctx)
	if err != nil {
		return nil, err
	}
	hs := map[string]held{}
	for i, t := range l.tokens {
		var h held
		p := map[string]string{"token": t, "via": "mcp"}
		if l.viaSet {
			delete(p, "via")
		}
		if err := c.Call(ctx, "auth", p, &h); err != nil {
			c.Close()
			return nil, fmt.Errorf("auth with token %d of %d: %w", i+1, len(l.tokens), err)
		}
		hs[h.Aud] = h
	}
	l.c, l.held = c, hs
	return c, nil
}

// call makes one router call. A lost connection is reported to the caller
// and forgotten, so the next call dials again.
func (l *link) call(ctx context.Context, method string, params, result any) error {
	c, err := l.connect(ctx)
	if err != nil {
		return err
	}
	err = c.Call(ctx, method, params, result)
	if errs.KindOf(err) == errs.Unauthorized {
		l.refused.Store(true)
	}
	if errs.Match(errs.E(errs.ReasonConnectionLost), err) {
		l.mu.Lock()
		if l.c == c {
			l.c = nil
		}
		l.mu.Unlock()
		c.Close()
	}
	return err
}

func (l *link) has(aud string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.held[aud]
	return ok
}

// Grant is one directory a file token reaches, with the verbs allowed on
// the whole of it.
type Grant struct {
	Dir   string
	Verbs []string // sorted: DELETE, GET, PUT
}

// fileGrants returns the directories the file token's scope covers as
// subtrees ("VERB:…/dir/*"), merged by directory, sorted by path.
func (l *link) fileGrants() []Grant {
	l.mu.Lock()
	h, ok := l.held[token.AudFile]
	l.mu.Unlock()
	if !ok {
		return nil
	}
	set, err := scope.ParseSet(h.Scope, token.AudFile, "")
	if err != nil {
		return nil
	}
	verbs := map[string]map[string]bool{}
	var dirs []string
	for _, e := range set {
		if !e.Subtree() {
			continue
		}
		d := strings.TrimSuffix(strings.TrimSuffix(e.Pattern, "*"), "/")
		if d == "" {
			d = "/"
		}
		if verbs[d] == nil {
			verbs[d] = map[string]bool{}
			dirs = append(dirs, d)
		}
		verbs[d][e.Verb] = true
	}
	sort.Strings(dirs)
	out := make([]Grant, len(dirs))
	for i, d := range dirs {
		g := Grant{Dir: d}
		for v := range verbs[d] {
			g.Verbs = append(g.Verbs, v)
		}
		sort.Strings(g.Verbs)
		out[i] = g
	}
	return out
}

// expires returns when the first of the held tokens expires (zero when
// none says).
func (l *link) expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, h := range l.held {
		if t := time.Unix(h.Exp, 0); h.Exp > 0 && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	return first
}

func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}

// refusal is the router's or a service's "no", or any failure to get an
// answer: what a tool reports with isError.
func refusal(err error) string {
	s := err.Error()
	var ee *errs.Error
	if errors.As(err, &ee) && ee.Reason != "" { // rendered as the router renders its own
		s = fmt.Sprintf("%s (%s): %s [%d]", ee.Kind, ee.Reason, ee.Op, ee.Kind.Code())
	}
	for e := err; errors.As(e, &ee); e = ee.Err {
		if ee.Remote() { // the router's own words
			s = ee.Error()
			break
		}
	}
	if h := errs.HintOf(err); h != "" {
		s += "\nhint: " + h
	}
	return s
}
