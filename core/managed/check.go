package managed

import (
	"fmt"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
)

// Reasons of the refusals Check makes (errs.Reason, the audit record's
// reason).
const (
	ReasonInvalid  = errs.ReasonManagedPolicyInvalid
	ReasonService  = errs.ReasonManagedService
	ReasonAgent    = errs.ReasonManagedAgent
	ReasonLifetime = errs.ReasonManagedTokenLifetime
	ReasonPath     = errs.ReasonManagedPath
)

// Call is what Check decides on: one call, with its token's facts.
type Call struct {
	Service  string
	Method   string
	Agent    string // the token's agent claim
	Owner    bool   // a token this device minted for its owner
	Lifetime time.Duration
	Access   []service.Access // absolute resources
	Home     string           // what "~" stands for in the policy
}

// Check decides whether the policy, as it is now, lets c go on. The router
// calls it for every call after the token's own checks, so a policy
// changed after a token was issued binds that token at its next call.
// The refusal is -32007 (the service is stopped by an invalid policy) or
// -32003 (forbidden), with a reason above and a hint naming the policy.
func (p *Policy) Check(c Call) error {
	if p == nil || p.Source == "" {
		return nil // no policy on this machine
	}
	if err := p.Err(c.Service); err != nil {
		return errs.E(c.Method, errs.Unavailable, ReasonInvalid,
			errs.Hint("the administrator's managed policy stops the "+c.Service+" service until it is fixed; `carapace config check` shows the error"), err)
	}
	src := p.Source
	if !p.Allows(c.Service) {
		return forbidden(c.Method, ReasonService, "the managed policy ("+src+") does not allow the "+c.Service+" service on this machine; ask your administrator",
			"the %s service is not among the managed services", c.Service)
	}
	if !p.AgentAllowed(c.Agent, c.Owner) {
		return forbidden(c.Method, ReasonAgent, "the managed policy ("+src+") allows the agents "+strings.Join(p.Agents, ", ")+" only",
			"agent %q is not allowed by the managed policy", c.Agent)
	}
	if max := p.MaxTTL(); max > 0 && c.Lifetime > max {
		return forbidden(c.Method, ReasonLifetime, "the managed policy allows tokens of at most "+max.String()+": make a new one (`carapace token issue --ttl "+max.String()+"`)",
			"the token lives %s, longer than the managed %s", c.Lifetime.Round(time.Second), max)
	}
	for _, a := range c.Access {
		if err := p.checkAccess(c, a); err != nil {
			return err
		}
	}
	return nil
}

func (p *Policy) checkAccess(c Call, a service.Access) error {
	switch c.Service {
	case "file":
		if p.Folders != nil && !inside(split(a.Resource), p.compiled(c.Home).folders) {
			return forbidden(c.Method, ReasonPath, "the managed policy allows folders inside "+strings.Join(p.Folders, ", ")+" only",
				"%s is outside the managed folders", a.Resource)
		}
		comps := split(a.Resource)
		if g := match(p.compiled(c.Home).denyRead, comps); g != "" {
			return forbidden(c.Method, ReasonPath, "the managed policy's deny_read has "+g, "%s is denied by the managed policy", a.Resource)
		}
		if a.Verb != scope.GET {
			if g := match(p.compiled(c.Home).denyWrite, comps); g != "" {
				return forbidden(c.Method, ReasonPath, "the managed policy's deny_write has "+g, "%s may not be changed under the managed policy", a.Resource)
			}
		}
	case "code":
		if p.ProjectRoots != nil && a.Resource != service.CodeScratch && !inside(split(a.Resource), p.compiled(c.Home).roots) {
			return forbidden(c.Method, ReasonPath, "the managed policy allows project roots inside "+strings.Join(p.ProjectRoots, ", ")+" only",
				"%s is outside the managed project roots", a.Resource)
		}
	}
	return nil
}

// match returns the glob m has that a component of a path (comps, from
// the root) matches, with the components above it, or "".
func match(m *denyread.Matcher, comps []string) string {
	if m == nil {
		return ""
	}
	for i, c := range comps {
		if g := m.Name(c, comps[:i]); g != "" {
			return g
		}
	}
	return ""
}

func forbidden(method string, reason errs.Reason, hint, format string, args ...any) error {
	return errs.E(method, errs.Forbidden, reason, errs.Hint(hint), fmt.Errorf(format, args...))
}

// patterns are the policy's folders and project roots, expanded for one
// home and split, made once: Check runs on every call.
type patterns struct {
	home                string
	folders, roots      [][]string
	denyRead, denyWrite *denyread.Matcher // nil: none
}

func (p *Policy) compiled(home string) *patterns {
	if c := p.cache.Load(); c != nil && c.home == home {
		return c
	}
	c := &patterns{home: home, folders: compile(p.Folders, home), roots: compile(p.ProjectRoots, home)}
	// The globs were checked when the policy was read.
	if len(p.DenyRead) > 0 {
		c.denyRead, _ = denyread.New(p.DenyRead)
	}
	if len(p.DenyWrite) > 0 {
		c.denyWrite, _ = denyread.New(p.DenyWrite)
	}
	p.cache.Store(c)
	return c
}
