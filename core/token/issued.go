package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// IssuedToken is a token this device minted for the owner (token.issue),
// as `carapace grants` lists it. The token itself is never kept.
type IssuedToken struct {
	JTI      string    `json:"jti"`
	Agent    string    `json:"agent"`
	Sub      string    `json:"sub"`
	Aud      string    `json:"aud"`
	Scope    []string  `json:"scope"`
	Once     bool      `json:"once,omitempty"`
	IssuedAt time.Time `json:"issued_at"`
	Exp      time.Time `json:"exp"`
	// LastUsed is the last call the router authorised with it since it
	// started (not persisted); Revoked is set when it was revoked.
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  bool      `json:"revoked,omitempty"`
}

// Issued is the router's list of the tokens it minted, kept until they
// expire in a 0600 file that survives a restart, and when each was last
// used. It is safe for concurrent use; a nil *Issued keeps nothing.
type Issued struct {
	path string
	mu   sync.Mutex
	m    map[string]IssuedToken
	used sync.Map // jti → *atomic.Int64 (unix nanoseconds), only for listed jtis
}

type issuedFile struct {
	Tokens []IssuedToken `json:"tokens"`
}

// OpenIssued loads the list at path; a missing file is an empty list.
func OpenIssued(path string) (*Issued, error) {
	is := &Issued{path: path, m: map[string]IssuedToken{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return is, nil
	}
	if err != nil {
		return nil, fmt.Errorf("issued tokens: %w", err)
	}
	var f issuedFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, errs.E("token.issued", errs.Failed, errs.ReasonBadIssuedList,
			errs.Hint("the file is written atomically, so this is an edit by hand: fix or remove it (the tokens stay valid, only the list is lost)"),
			fmt.Errorf("%s: %w", path, err))
	}
	now := time.Now()
	for _, t := range f.Tokens {
		if now.Before(t.Exp) {
			is.m[t.JTI] = t
			is.used.Store(t.JTI, new(atomic.Int64))
		}
	}
	return is, nil
}

// Add records a minted token and writes the list before it returns.
func (is *Issued) Add(t IssuedToken) error {
	if is == nil {
		return nil
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	now := time.Now()
	is.m[t.JTI] = t
	out := issuedFile{Tokens: make([]IssuedToken, 0, len(is.m))}
	for j, e := range is.m {
		if !now.Before(e.Exp) {
			delete(is.m, j)
			is.used.Delete(j)
			continue
		}
		e.LastUsed, e.Revoked = time.Time{}, false
		out.Tokens = append(out.Tokens, e)
	}
	is.used.LoadOrStore(t.JTI, new(atomic.Int64))
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := writeAtomic(is.path, append(b, '\n'), 0o600); err != nil {
		return errs.E("token.issue", errs.Failed, errs.ReasonIssuedListUnwritable, err)
	}
	return nil
}

// Used notes a call authorised with jti now. It costs a map read and an
// atomic store, on every call.
func (is *Issued) Used(jti string, now time.Time) {
	if is == nil {
		return
	}
	if v, ok := is.used.Load(jti); ok {
		v.(*atomic.Int64).Store(now.UnixNano())
	}
}

// List returns the tokens not yet expired, newest first, with when each
// was last used and whether rev revokes it.
func (is *Issued) List(rev *Revocations) []IssuedToken {
	if is == nil {
		return nil
	}
	now := time.Now()
	is.mu.Lock()
	out := make([]IssuedToken, 0, len(is.m))
	for _, t := range is.m {
		if !now.Before(t.Exp) {
			continue
		}
		if v, ok := is.used.Load(t.JTI); ok {
			if n := v.(*atomic.Int64).Load(); n != 0 {
				t.LastUsed = time.Unix(0, n)
			}
		}
		t.Revoked = rev.Revoked(t.JTI)
		out = append(out, t)
	}
	is.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.After(out[j].IssuedAt) })
	return out
}

// Lookup returns the listed token jti.
func (is *Issued) Lookup(jti string) (IssuedToken, bool) {
	if is == nil {
		return IssuedToken{}, false
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	t, ok := is.m[jti]
	return t, ok
}
