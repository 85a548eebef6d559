// Package secret keeps the owner's credentials for credential routes
// (core/egress.Route): `carapace secret set NAME` stores one, the code
// service reads it (at start, and again when the owner hands it a new
// one through the router) and hands it to the egress proxy, which adds
// it to a route's requests. A sandboxed command never holds it. An
// installed code service, which cannot read the owner's stores, keeps
// what it is handed in a FileStore of its own.
//
// Where the owner's secrets live, first available first:
//   - macOS: the login Keychain (a generic password, service
//     "com.gimme.carapace.secret", account NAME), set by cmd/carapace
//     through Platform where the build has the Keychain;
//   - Linux: the Secret Service (GNOME Keyring, KeePassXC, KWallet's
//     bridge) over the owner's D-Bus session bus, as an item with the
//     attributes {application: carapace, name: NAME};
//   - else a 0600 file, Dir()/NAME, in a 0700 directory of the owner's.
//
// Get, List and Delete look in every store that answers, so a secret set
// while a session bus was there is still found by a process without it
// when it is in the file, and the other way round.
package secret

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
)

// ErrNotFound is Get's error for a name no store holds.
var ErrNotFound = errors.New("no such secret")

// Store is one place secrets are kept.
type Store interface {
	// Set stores value under name, replacing what was there.
	Set(name string, value []byte) error
	// Get returns the value stored under name, or an error wrapping
	// ErrNotFound.
	Get(name string) ([]byte, error)
	// List returns the names stored, in any order.
	List() ([]string, error)
	// Delete removes name; an error wrapping ErrNotFound when it was not
	// there.
	Delete(name string) error
	// String says where the store keeps secrets, for a person.
	String() string
}

// Platform, when set (cmd/carapace on macOS, with the Keychain), is the
// platform's own store, tried before the others.
var Platform func() (Store, error)

// secretService, set on Linux, opens the Secret Service on the session
// bus, or fails when there is none.
var secretService func() (Store, error)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName reports whether name can name a secret: letters, digits,
// dots, dashes and underscores, 64 at most, not starting with a dot or a
// dash (a file of that name is the secret's).
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("secret name %q: use letters, digits, dots, dashes and underscores (64 at most)", name)
	}
	return nil
}

// Open returns the stores that answer, the one Set uses first, and the
// file store (in Dir) last: it always answers.
func Open() (*Stores, error) {
	home, _ := os.UserHomeDir()
	return OpenIn(home)
}

// OpenIn is Open with the file store in DirIn(home).
func OpenIn(home string) (*Stores, error) {
	var ss Stores
	for _, open := range []func() (Store, error){Platform, secretService} {
		if open == nil {
			continue
		}
		if s, err := open(); err == nil {
			ss.list = append(ss.list, s)
		}
	}
	f, err := NewFileStore(DirIn(home))
	if err != nil {
		return nil, err
	}
	ss.list = append(ss.list, f)
	return &ss, nil
}

// Stores are the stores Open found; Set writes to the first, the others
// are read.
type Stores struct{ list []Store }

// NewStores is Stores over list, Set using list[0].
func NewStores(list ...Store) *Stores { return &Stores{list: list} }

// Set stores value under name in the first store.
func (ss *Stores) Set(name string, value []byte) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if len(value) == 0 {
		return errors.New("set secret " + name + ": empty")
	}
	return ss.list[0].Set(name, value)
}

// Get returns the value the first store that has name holds.
func (ss *Stores) Get(name string) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	for _, s := range ss.list {
		if v, err := s.Get(name); err == nil {
			return v, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("get secret %s: %w", name, ErrNotFound)
}

// List returns the names every store holds, sorted, once each.
func (ss *Stores) List() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss.list {
		names, err := s.List()
		if err != nil {
			return nil, fmt.Errorf("list secrets in %s: %w", s, err)
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete removes name from every store that has it; ErrNotFound when
// none did.
func (ss *Stores) Delete(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	found := false
	for _, s := range ss.list {
		err := s.Delete(name)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	if !found {
		return fmt.Errorf("remove secret %s: %w", name, ErrNotFound)
	}
	return nil
}

// Where says where Set stores.
func (ss *Stores) Where() string { return ss.list[0].String() }
