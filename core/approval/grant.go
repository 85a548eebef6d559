package approval

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// Scope is how long, and for whom, an approval holds.
type Scope string

// The scopes of a decision.
const (
	// Once approves this request only.
	Once Scope = "once"
	// ForToken approves matching requests made with the same token
	// (its jti) until the token expires.
	ForToken Scope = "token"
	// ForTime approves matching requests for a given duration.
	ForTime Scope = "time"
	// Always approves matching requests until the owner revokes the grant.
	Always Scope = "always"
	// Exact is the older remember: the byte-identical command line from
	// the same directory, whoever asks, for a duration (Decide).
	Exact Scope = "exact"
)

// Grant is a remembered approval: what it covers and until when. A grant
// of scope token, time or always covers a request when every simple
// command of its line starts with Prefix (word for word, not as a string:
// [git push] does not cover "git push-all"), it runs in Dir or below,
// and the caller has the grant's Agent and Aud (and, for a token grant,
// JTI). The request must also be one a grant may cover at all
// (Request.NoRemember empty, Request.Argv set).
type Grant struct {
	ID     string   `json:"id"`
	Scope  Scope    `json:"scope"`
	Prefix []string `json:"prefix,omitempty"`
	// Command is the exact line an Exact grant covers.
	Command string `json:"command,omitempty"`
	Dir     string `json:"dir"`
	Agent   string `json:"agent,omitempty"`
	Aud     string `json:"aud,omitempty"`
	JTI     string `json:"jti,omitempty"`
	// Until is when the grant ends; zero for Always.
	Until     time.Time `json:"until,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	// Approval is the request the owner decided, Channel how ("cli",
	// "notification", "watch").
	Approval string `json:"approval"`
	Channel  string `json:"channel,omitempty"`
	// LastUsed and Uses count the requests it approved since the service
	// started (not persisted).
	LastUsed time.Time `json:"last_used,omitzero"`
	Uses     int       `json:"uses,omitempty"`
}

// Describe says what g covers, in words, for the owner: what a decision
// will remember before it is made, and what `carapace grants` lists.
func (g Grant) Describe() string {
	if g.Scope == Exact {
		return fmt.Sprintf("exactly %q in %s, from anyone", g.Command, g.Dir)
	}
	who := g.Agent
	if who == "" {
		who = "a caller without an agent name"
	}
	s := fmt.Sprintf("%q… in %s and below, for %s", strings.Join(g.Prefix, " "), g.Dir, who)
	switch g.Scope {
	case ForToken:
		s += " with this token"
	}
	if g.Scope == Always {
		return s + ", until revoked"
	}
	return s + ", until " + g.Until.Local().Format(time.DateTime)
}

// live reports whether g still holds at now.
func (g *Grant) live(now time.Time) bool {
	return g.Scope == Always || now.Before(g.Until)
}

// covers reports whether g approves r.
func (g *Grant) covers(r *Request) bool {
	if g.Scope == Exact {
		return r.NoRemember == "" && r.key() == g.Command+"\x00"+g.Dir
	}
	if r.NoRemember != "" || len(r.Argv) == 0 || !within(r.Cwd, g.Dir) ||
		g.Agent != r.Caller.Agent || g.Aud != r.Caller.Aud || (g.Scope == ForToken && g.JTI != r.Caller.JTI) {
		return false
	}
	for _, argv := range r.Argv {
		if !hasPrefix(argv, g.Prefix) {
			return false
		}
	}
	return true
}

// coveredBy reports whether every simple command of r is covered by one
// of gs (each may be covered by another grant: "go test ./... | tail"
// needs a grant for go test and one for tail) and returns the first
// grant used. Called with the queue's lock held.
func coveredBy(gs []*Grant, r *Request, now time.Time) (*Grant, bool) {
	if r.NoRemember != "" || len(r.Argv) == 0 {
		return nil, false
	}
	hits := make([]*Grant, 0, len(r.Argv))
	for _, argv := range r.Argv {
		one := *r
		one.Argv = [][]string{argv}
		var hit *Grant
		for _, g := range gs {
			if g.Scope != Exact && g.live(now) && g.covers(&one) {
				hit = g
				break
			}
		}
		if hit == nil {
			return nil, false
		}
		hits = append(hits, hit)
	}
	for _, g := range hits {
		g.LastUsed, g.Uses = now, g.Uses+1
	}
	return hits[0], true
}

func hasPrefix(argv, prefix []string) bool {
	return len(prefix) > 0 && len(argv) >= len(prefix) && slices.Equal(argv[:len(prefix)], prefix)
}

// within reports whether dir is root or below it (both clean, absolute).
func within(dir, root string) bool {
	if root == "" || dir == "" {
		return false
	}
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && !filepath.IsAbs(rel)
}

// Decision is the owner's answer to one request.
type Decision struct {
	Allow bool
	// Scope is how far an approval reaches (Once when empty).
	Scope Scope
	// For is how long a ForTime (or Exact) grant holds.
	For time.Duration
	// Prefix is how many leading words of the command the grant covers
	// (0: DefaultPrefix).
	Prefix int
	// Dir is the directory subtree the grant covers (empty: the
	// request's own directory). It must contain the request's.
	Dir string
	// Channel is how the owner answered, recorded with the grant.
	Channel string
}

// DefaultPrefix is how many words of argv a grant covers when the owner
// does not say: the program and, when the next word reads as a
// subcommand (git status, go test, npm install), that word too.
func DefaultPrefix(argv []string) int {
	if len(argv) < 2 {
		return len(argv)
	}
	for _, c := range argv[1] {
		if (c < 'a' || c > 'z') && c != '-' && (c < '0' || c > '9') {
			return 1
		}
	}
	if strings.HasPrefix(argv[1], "-") {
		return 1
	}
	return 2
}

// newGrant makes the grant that d remembers for request p, or says why it
// cannot be remembered.
func newGrant(p Pending, d Decision, now time.Time) (*Grant, error) {
	g := &Grant{ID: "g" + p.ID, Scope: d.Scope, Dir: p.Cwd, Agent: p.Caller.Agent, Aud: p.Caller.Aud,
		CreatedAt: now, Approval: p.ID, Channel: d.Channel}
	if p.NoRemember != "" {
		return nil, errs.E(errs.Forbidden, errs.ReasonNeverRemembered,
			errs.Hint("this command can only be approved once: "+p.NoRemember))
	}
	if d.Dir != "" {
		if !filepath.IsAbs(d.Dir) || !within(p.Cwd, filepath.Clean(d.Dir)) {
			return nil, errs.E(errs.InvalidParams, errs.ReasonBadDir,
				errs.Hint("the directory a grant covers must be absolute and hold the request's ("+p.Cwd+")"))
		}
		g.Dir = filepath.Clean(d.Dir)
	}
	switch d.Scope {
	case Exact:
		// The line is everything before the last NUL: a Match may hold
		// NULs of its own (the network's "host:port\x00jti"); a Cwd never.
		g.Command, g.Dir, g.Agent, g.Aud = p.key()[:strings.LastIndexByte(p.key(), 0)], p.Cwd, "", ""
		g.Until = now.Add(d.For)
		return g, nil
	case ForTime:
		if d.For <= 0 || d.For > MaxRemember {
			return nil, errs.E(errs.InvalidParams, errs.ReasonBadRemember,
				errs.Hint("remember for between 1s and "+MaxRemember.String()))
		}
		g.Until = now.Add(d.For)
	case ForToken:
		if p.Caller.JTI == "" || p.Caller.Exp.IsZero() {
			return nil, errs.E(errs.InvalidParams, errs.ReasonNoToken,
				errs.Hint("the request carried no token; choose once, a duration or always"))
		}
		g.JTI, g.Until = p.Caller.JTI, p.Caller.Exp
	case Always:
	default:
		return nil, errs.E(errs.InvalidParams, errs.ReasonBadScope,
			errs.Hint("the scope is once, token, a duration such as 10m, or always"))
	}
	if len(p.Argv) != 1 {
		why := p.NotPlain
		if why == "" {
			why = "it runs several commands; newGrants makes one grant for each"
		}
		return nil, errs.E(errs.Forbidden, errs.ReasonNotRememberable,
			errs.Hint("only plain commands can be remembered, and this line is not ("+why+"); approve it once"))
	}
	argv := p.Argv[0]
	n := d.Prefix
	if n == 0 {
		n = DefaultPrefix(argv)
	}
	if n < 1 || n > len(argv) {
		return nil, errs.E(errs.InvalidParams, errs.ReasonBadPrefix,
			errs.Hint(fmt.Sprintf("the prefix is 1 to %d words of %q", len(argv), strings.Join(argv, " "))))
	}
	g.Prefix = slices.Clone(argv[:n])
	return g, nil
}

// PreviewRequest says what d would remember for p (Grant.Describe of
// each grant, joined), or why it cannot be remembered, without a queue:
// what the owner is shown before choosing.
func PreviewRequest(p Pending, d Decision) (string, error) {
	gs, err := newGrants(p, d, nil, time.Now())
	if err != nil {
		return "", err
	}
	var out []string
	for _, g := range gs {
		out = append(out, g.Describe())
	}
	return strings.Join(out, "; and "), nil
}

// newGrants makes the grants d remembers for p: one for a single command,
// and for a line of several plain commands (go test ./... | tail -20) one
// for each that no live grant in have covers yet, each with its default
// prefix (a prefix in d applies to a single command only).
func newGrants(p Pending, d Decision, have []*Grant, now time.Time) ([]*Grant, error) {
	if len(p.Argv) <= 1 || d.Scope == Exact || p.NoRemember != "" {
		g, err := newGrant(p, d, now)
		if err != nil {
			return nil, err
		}
		return []*Grant{g}, nil
	}
	if d.Prefix != 0 {
		return nil, errs.E(errs.InvalidParams, errs.ReasonBadPrefix,
			errs.Hint("a line of several commands is remembered with each command's default prefix; leave the prefix out"))
	}
	var out []*Grant
	for i, argv := range p.Argv {
		one := p
		one.Argv = [][]string{argv}
		if coveredNow(have, &one.Request, now) {
			continue
		}
		g, err := newGrant(one, d, now)
		if err != nil {
			return nil, err
		}
		g.ID = fmt.Sprintf("g%s-%d", p.ID, i+1)
		out = append(out, g)
		have = append(have, g)
	}
	return out, nil
}

// coveredNow reports whether a live grant of have covers r, without
// counting a use.
func coveredNow(have []*Grant, r *Request, now time.Time) bool {
	for _, g := range have {
		if g.Scope != Exact && g.live(now) && g.covers(r) {
			return true
		}
	}
	return false
}
