//go:build linux

package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWithout(t *testing.T) {
	a, b, c := rule{"/a", llRead}, rule{"/b", llRead}, rule{"/a", llRead | llExec}
	for _, tc := range []struct {
		all, some, extra []rule
		ok               bool
	}{
		{[]rule{a, b, c}, []rule{a}, []rule{b, c}, true},
		{[]rule{a, b}, []rule{a, b}, nil, true},
		{[]rule{a, a, b}, []rule{a}, []rule{a, b}, true},
		{[]rule{a, b}, []rule{c}, nil, false}, // same path, other rights
		{[]rule{a}, []rule{a, a}, nil, false},
	} {
		extra, ok := without(tc.all, tc.some)
		if ok != tc.ok || !slices.Equal(extra, tc.extra) {
			t.Errorf("without(%v, %v) = %v, %v; want %v, %v", tc.all, tc.some, extra, ok, tc.extra, tc.ok)
		}
	}
}

// TestPreparedRulesetNoticesChanges checks that a prepared ruleset is
// not used once a path in it names another file (replaced by rename, as
// useradd replaces /etc/passwd) or a missing path has appeared.
func TestPreparedRulesetNoticesChanges(t *testing.T) {
	requireSandbox(t)
	dir := t.TempDir()
	file, missing := filepath.Join(dir, "passwd"), filepath.Join(dir, "later")
	must(t, os.WriteFile(file, []byte("old"), 0o644))
	rules := []rule{{dir, llRead}, {file, llRead}, {missing, llRead}}
	prep := func() *preparedRuleset {
		p, err := prepareRuleset(rules, landlockABI(), true)
		must(t, err)
		t.Cleanup(func() { unix.Close(p.fd) })
		return p
	}
	if p := prep(); !p.unchanged() {
		t.Fatal("an untouched prepared ruleset counts as changed")
	}
	p := prep()
	must(t, os.WriteFile(file+".new", []byte("new"), 0o644))
	must(t, os.Rename(file+".new", file))
	if p.unchanged() {
		t.Error("a file replaced by rename went unnoticed")
	}
	p = prep()
	must(t, os.WriteFile(missing, nil, 0o644))
	if p.unchanged() {
		t.Error("a path that appeared went unnoticed")
	}
}

// TestPreparedRulesetConfines restricts a throwaway thread through a
// prepared ruleset plus a request's own rules and checks what it can open.
func TestPreparedRulesetConfines(t *testing.T) {
	requireSandbox(t)
	shared, own, outside := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{shared, outside} {
		must(t, os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644))
	}
	p, err := prepareRuleset([]rule{{shared, llRead}}, landlockABI(), true)
	must(t, err)
	rs := &ruleset{abi: landlockABI(), noNet: true, rules: []rule{{shared, llRead}, {own, llRead | llWrite}}}
	onThrowawayThread(t, func() error {
		ok, err := p.restrictThread(rs)
		if !ok || err != nil {
			return errors.Join(errors.New("prepared ruleset not used"), err)
		}
		if _, err := os.ReadFile(filepath.Join(shared, "f")); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(own, "g"), nil, 0o644); err != nil {
			return err
		}
		if _, err := os.ReadFile(filepath.Join(outside, "f")); !errors.Is(err, unix.EACCES) {
			return errors.Join(errors.New("read outside the rules"), err)
		}
		if err := os.WriteFile(filepath.Join(shared, "g"), nil, 0o644); !errors.Is(err, unix.EACCES) {
			return errors.Join(errors.New("wrote where only reading is allowed"), err)
		}
		return nil
	})
	// Other rights on a shared path, or network on: not usable.
	p2, err := prepareRuleset([]rule{{shared, llRead}}, landlockABI(), true)
	must(t, err)
	defer unix.Close(p2.fd)
	if ok, _ := p2.restrictThread(&ruleset{abi: landlockABI(), noNet: false, rules: rs.rules}); ok {
		t.Error("a prepared ruleset without network was used for a command with network")
	}
	if ok, _ := p2.restrictThread(&ruleset{abi: landlockABI(), noNet: true, rules: []rule{{shared, llRead | llWrite}}}); ok {
		t.Error("a prepared ruleset was used for rules that lack one of its own")
	}
	// The one a helper that can run a command with network prepares too
	// never serves a command without: it leaves TCP unrestricted.
	p3, err := prepareRuleset([]rule{{shared, llRead}}, landlockABI(), false)
	must(t, err)
	defer unix.Close(p3.fd)
	if ok, _ := p3.restrictThread(&ruleset{abi: landlockABI(), noNet: true, rules: rs.rules}); ok {
		t.Error("a prepared ruleset with network was used for a command without")
	}
}
