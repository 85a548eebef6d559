package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// Revocations is the list of revoked jtis, kept in a file that survives a
// restart. Other processes (services) open the same file read-only and
// pick up changes within RefreshInterval. It is safe for concurrent use; a
// nil *Revocations revokes nothing.
type Revocations struct {
	mu      sync.Mutex
	path    string
	m       map[string]time.Time // jti → keep until (zero: forever)
	stamp   fileStamp
	checked time.Time
	now     func() time.Time
}

// RefreshInterval is how often Revoked looks for a changed file.
const RefreshInterval = time.Second

type fileStamp struct {
	mod  time.Time
	size int64
}

type revocationFile struct {
	Revoked []revokedEntry `json:"revoked"`
}

type revokedEntry struct {
	JTI   string     `json:"jti"`
	Until *time.Time `json:"until,omitempty"`
}

// OpenRevocations loads the list at path; a missing file is an empty list.
func OpenRevocations(path string) (*Revocations, error) {
	r := &Revocations{path: path, m: map[string]time.Time{}, now: time.Now}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Revocations) load() error {
	fi, err := os.Stat(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		r.m, r.stamp = map[string]time.Time{}, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("revocation list: %w", err)
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return fmt.Errorf("revocation list: %w", err)
	}
	var rf revocationFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return errs.E("token.revocations", errs.Failed, errs.ReasonBadRevocationList,
			errs.Hint("the file is written atomically, so this is an edit by hand: fix or restore it"),
			fmt.Errorf("%s: %w", r.path, err))
	}
	m := make(map[string]time.Time, len(rf.Revoked))
	for _, e := range rf.Revoked {
		var until time.Time
		if e.Until != nil {
			until = *e.Until
		}
		m[e.JTI] = until
	}
	r.m, r.stamp = m, fileStamp{fi.ModTime(), fi.Size()}
	return nil
}

// Revoke adds jti, kept until the given time (zero: forever; pass the
// token's expiry when known), and writes the list atomically before it
// returns.
func (r *Revocations) Revoke(jti string, until time.Time) error {
	if jti == "" || len(jti) > MaxJTILen {
		return errs.E("token.revoke", errs.InvalidParams, errs.ReasonMalformed,
			errs.Hint("give the jti printed by carapace token issue or carapace token inspect"),
			fmt.Errorf("jti must be 1 to %d bytes", MaxJTILen))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.refreshLocked(true, r.now()); err != nil {
		return err
	}
	r.m[jti] = until
	return r.saveLocked()
}

// saveLocked drops expired entries and writes the file (mode 0644:
// services read it; jtis are not secrets).
func (r *Revocations) saveLocked() error {
	now := r.now()
	rf := revocationFile{Revoked: []revokedEntry{}}
	for j, u := range r.m {
		if !u.IsZero() && !now.Before(u) {
			delete(r.m, j)
			continue
		}
		e := revokedEntry{JTI: j}
		if !u.IsZero() {
			u := u.UTC()
			e.Until = &u
		}
		rf.Revoked = append(rf.Revoked, e)
	}
	b, _ := json.MarshalIndent(rf, "", "  ")
	if err := writeAtomic(r.path, append(b, '\n'), 0o644); err != nil {
		return errs.E("token.revoke", errs.Failed, errs.ReasonRevocationListUnwritable, err)
	}
	fi, err := os.Stat(r.path)
	if err == nil {
		r.stamp = fileStamp{fi.ModTime(), fi.Size()}
	}
	r.checked = now
	return nil
}

// Revoked reports whether jti is revoked. At most once per
// RefreshInterval it reloads the file if it changed; if the file has
// become unreadable or was removed it keeps the list it has.
func (r *Revocations) Revoked(jti string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now() // one clock read serves the refresh and the check: this runs on every call
	_ = r.refreshLocked(false, now)
	until, ok := r.m[jti]
	return ok && (until.IsZero() || now.Before(until))
}

func (r *Revocations) refreshLocked(force bool, now time.Time) error {
	if !force && now.Sub(r.checked) < RefreshInterval {
		return nil
	}
	r.checked = now
	fi, err := os.Stat(r.path)
	if err != nil || (fileStamp{fi.ModTime(), fi.Size()}) == r.stamp {
		// A list that vanished keeps what we had: removing the file must
		// not quietly un-revoke tokens.
		return nil
	}
	old, oldStamp := r.m, r.stamp
	if err := r.load(); err != nil {
		r.m, r.stamp = old, oldStamp
		return err
	}
	return nil
}
