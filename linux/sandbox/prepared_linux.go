//go:build linux

package sandbox

import (
	"errors"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// A warm helper builds, before its request comes, a Landlock ruleset with
// the rules every code service command shares (core/sandbox's default
// system paths and devices); the request then adds only its own rules (the
// project, its temporary directory, its .git corners) before the thread
// restricts itself. A rule holds the inode its path named when it was
// added, so each shared path is looked up again first: if one now names
// another file (an /etc/passwd replaced by rename while the helper waited),
// or a missing one appeared, or the request's rules are not a superset of
// the shared ones, the prepared ruleset is not used and the command's is
// built from scratch, exactly as without it.

// preparedRuleset is a ruleset with some rules already added.
type preparedRuleset struct {
	fd    int
	abi   int
	noNet bool
	rules []rule
	ids   []pathID // what each rule's path named when it was added
}

// pathID identifies the file a path named, or that it named none.
type pathID struct {
	dev, ino uint64
	absent   bool
}

// prepared is the warm helper's ruleset (warmUp), and preparedNet the
// one for a command with network, made where the helper can run one (a
// network namespace of its own, the proxy's descriptor): a ruleset that
// restricts TCP cannot serve a command that may connect, nor the
// reverse. Nil elsewhere.
var prepared, preparedNet *preparedRuleset

// restrictCommand applies spec's Landlock rules to the calling thread,
// through the prepared ruleset when it can be used.
func restrictCommand(spec sandbox.Spec) error {
	rs := commandRuleset(spec, landlockABI())
	p, other := prepared, preparedNet
	if !rs.noNet {
		p, other = preparedNet, prepared
	}
	// Either is used once at most: restrictThread adds the command's own
	// rules to it. A helper's next command (reuse_linux.go) builds its
	// ruleset from scratch.
	prepared, preparedNet = nil, nil
	if other != nil {
		unix.Close(other.fd)
	}
	ok, err := p.restrictThread(rs) // closes p when ok
	if ok {
		return err
	}
	if p != nil {
		unix.Close(p.fd)
	}
	return rs.restrictThread()
}

// sharedRules are the rules of every command the code service runs
// (sandbox.ForProject), without the project's own; the terminal devices
// only when terminals says a private devpts is mounted (withTerminals).
func sharedRules(terminals bool) []rule {
	spec := sandbox.ForProject("/", "/")
	spec.ReadWrite = sandbox.DefaultDevices
	spec.Protected = nil
	return commandRuleset(withTerminals(spec, terminals), 0).rules
}

// prepareRuleset makes a ruleset for abi holding rules, for commands
// without network (noNet) or with it.
func prepareRuleset(rules []rule, abi int, noNet bool) (*preparedRuleset, error) {
	rs := &ruleset{abi: abi, noNet: noNet}
	fd, attr, err := rs.create()
	if err != nil {
		return nil, err
	}
	p := &preparedRuleset{fd: fd, abi: abi, noNet: noNet, rules: rules}
	for _, ru := range rules {
		id, err := addPathRuleID(fd, ru.path, ru.access&attr.fs)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		p.ids = append(p.ids, id)
	}
	return p, nil
}

// restrictThread applies rs to the calling thread through p when p holds
// a subset of rs's rules whose paths still name what they named; ok is
// false when p cannot be used (rs must then be applied on its own).
func (p *preparedRuleset) restrictThread(rs *ruleset) (ok bool, err error) {
	if p == nil || p.abi != rs.abi || p.noNet != rs.noNet {
		return false, nil
	}
	extra, ok := without(rs.rules, p.rules)
	if !ok || !p.unchanged() {
		return false, nil
	}
	defer unix.Close(p.fd)
	fs := (&ruleset{abi: p.abi}).handledFS()
	for _, ru := range extra {
		if err := addPathRule(p.fd, ru.path, ru.access&fs); err != nil {
			if errors.Is(err, unix.ENOENT) {
				rs.skipped = append(rs.skipped, ru.path)
				continue
			}
			return true, err
		}
	}
	return true, restrictSelf(p.fd)
}

// unchanged reports whether every prepared path still names the file (or
// the absence) it named.
func (p *preparedRuleset) unchanged() bool {
	for i, ru := range p.rules {
		var st unix.Stat_t
		err := unix.Stat(ru.path, &st)
		switch {
		case p.ids[i].absent:
			if !errors.Is(err, unix.ENOENT) {
				return false
			}
		case err != nil || st.Dev != p.ids[i].dev || st.Ino != p.ids[i].ino:
			return false
		}
	}
	return true
}

// without returns all minus the rules in some, or false when some has a
// rule all lacks.
func without(all, some []rule) ([]rule, bool) {
	left := make(map[rule]int, len(all))
	for _, r := range all {
		left[r]++
	}
	for _, r := range some {
		if left[r] == 0 {
			return nil, false
		}
		left[r]--
	}
	var extra []rule
	for _, r := range all {
		if left[r] > 0 {
			extra = append(extra, r)
			left[r]--
		}
	}
	return extra, true
}
