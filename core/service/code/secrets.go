package code

import (
	"context"
	"errors"
	"sync"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service"
)

// Credential routes' secrets handed over by the owner. An installed code
// service runs as a user of its own, which can read neither the owner's
// Secret Service nor their 0600 file: `carapace secret set` sends the
// secret through the router (secrets.set, owner-only there), which
// forwards it here as code.secrets.set with no token; the service keeps
// it in its own store (its state directory) and rebuilds the routes, so
// the next command has it without a restart. A secret is never logged or
// audited: the record names it only.

// RouteSecrets is where the service keeps route secrets and how it
// rebuilds its routes from them.
type RouteSecrets struct {
	// Store keeps the secrets: the service's own file store when
	// installed, the owner's stores in a dev stack.
	Store *secret.Stores
	// Load reads the routes' secrets from Store as it is now and
	// returns the routes and the scanner for command output (a route's
	// secret is one of its patterns).
	Load func(*secret.Stores) (*egress.Routes, *redact.Scanner, error)
}

// live are the routes and the output scanner in force, swapped whole
// after each change to the secrets.
type live struct {
	// changing serializes the changes: a store write and the reload
	// after it.
	changing sync.Mutex
	mu       sync.RWMutex
	routes   *egress.Routes
	redact   *redact.Scanner
}

func (l *live) get() (*egress.Routes, *redact.Scanner) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.routes, l.redact
}

func (l *live) set(rs *egress.Routes, sc *redact.Scanner) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routes, l.redact = rs, sc
}

// SecretParams are code.secrets.set's and code.secrets.remove's params
// (value for set only: one line, at most 64 KiB).
type SecretParams struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// SecretsList is code.secrets.list's result: names, never values.
type SecretsList struct {
	Names []string `json:"names"`
	Where string   `json:"where"`
}

// secretsOwnerOnly refuses anyone but the owner, on a local entry, without a
// token (service.OwnerOnly).
func secretsOwnerOnly(op string, c service.Caller) error {
	return service.OwnerOnly(op, c, service.OwnerRefusal{
		Hint:   "secrets are set only by the owner, with `carapace secret set NAME` on this machine",
		Remote: errs.ReasonRemoteEntry, Token: errs.ReasonNotOwner,
	})
}

// secretsStore returns the store, or why there is none.
func (s *Service) secretsStore(op string) (*RouteSecrets, error) {
	if s.cfg.Secrets == nil || s.cfg.Secrets.Store == nil {
		return nil, errs.E(op, errs.Unavailable, errs.Hint("this code service keeps no route secrets; run `carapace secret set` with no stack running to use your own store"),
			errors.New("no secret store"))
	}
	return s.cfg.Secrets, nil
}

func (s *Service) secretsSet(_ context.Context, call *service.Call) (any, error) {
	const op = "code.secrets.set"
	var p SecretParams
	rs, err := s.secretsBegin(op, call, &p)
	if err != nil {
		return nil, err
	}
	if err := checkSecret(p); err != nil {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadParams, errs.Hint("a name is letters, digits, dots, dashes and underscores; a value one line of at most 64 KiB"), err)
	}
	s.live.changing.Lock()
	defer s.live.changing.Unlock()
	reason := "secret " + p.Name + " set"
	if err := audited(call, op, reason); err != nil {
		return nil, err
	}
	if err := rs.Store.Set(p.Name, []byte(p.Value)); err != nil {
		return nil, errs.E(op, errs.Failed, errs.Hint("the code service could not write its state directory (see its log)"), err)
	}
	return s.secretsChanged(op, reason)
}

func (s *Service) secretsRemove(_ context.Context, call *service.Call) (any, error) {
	const op = "code.secrets.remove"
	var p SecretParams
	rs, err := s.secretsBegin(op, call, &p)
	if err != nil {
		return nil, err
	}
	if err := secret.CheckName(p.Name); err != nil || p.Value != "" {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadParams, errs.Hint(`give the name alone: {"name": "github"}`), errors.New("bad name"))
	}
	s.live.changing.Lock()
	defer s.live.changing.Unlock()
	if _, err := rs.Store.Get(p.Name); errors.Is(err, secret.ErrNotFound) {
		return nil, noSecret(op, err)
	}
	reason := "secret " + p.Name + " removed"
	if err := audited(call, op, reason); err != nil {
		return nil, err
	}
	if err := rs.Store.Delete(p.Name); errors.Is(err, secret.ErrNotFound) {
		return nil, noSecret(op, err)
	} else if err != nil {
		return nil, errs.E(op, errs.Failed, errs.Hint("the code service could not change its state directory (see its log)"), err)
	}
	return s.secretsChanged(op, reason)
}

func (s *Service) secretsList(_ context.Context, call *service.Call) (any, error) {
	const op = "code.secrets.list"
	rs, err := s.secretsBegin(op, call, &struct{}{})
	if err != nil {
		return nil, err
	}
	names, err := rs.Store.List()
	if err != nil {
		return nil, errs.E(op, errs.Failed, errs.Hint("the code service could not read its state directory (see its log)"), err)
	}
	if names == nil {
		names = []string{}
	}
	return SecretsList{Names: names, Where: rs.Store.Where()}, nil
}

// secretsBegin is the first part of every code.secrets method: the
// owner alone, a store to change, the params decoded into p.
func (s *Service) secretsBegin(op string, call *service.Call, p any) (*RouteSecrets, error) {
	if err := secretsOwnerOnly(op, call.Caller); err != nil {
		return nil, err
	}
	rs, err := s.secretsStore(op)
	if err != nil {
		return nil, err
	}
	if err := service.Decode(call.Params, p); err != nil {
		return nil, errs.E(op, err)
	}
	return rs, nil
}

func noSecret(op string, err error) error {
	return errs.E(op, errs.NotFound, errs.ReasonNoSecret, errs.Hint("`carapace secret list` names the stored secrets"), err)
}

// audited records a change before it is made (the name, never the
// value): one that cannot be recorded is not made.
func audited(call *service.Call, op, reason string) error {
	if err := service.Decide(call, service.Decision{Decision: audit.Allow, By: audit.ByOwner, Reason: reason}); err != nil {
		return errs.E(op, err)
	}
	return nil
}

// secretsChanged rebuilds the routes for the next command.
func (s *Service) secretsChanged(op, reason string) (any, error) {
	if err := s.reloadRoutes(); err != nil {
		return nil, errs.E(op, errs.Failed, errs.Hint("the secret is stored; fix what is named and run `carapace restart code`"), err)
	}
	return map[string]string{"done": reason, "where": s.cfg.Secrets.Store.Where()}, nil
}

// reloadRoutes rebuilds the routes and the output scanner from the store.
func (s *Service) reloadRoutes() error {
	rs, sc, err := s.cfg.Secrets.Load(s.cfg.Secrets.Store)
	if err != nil {
		return err
	}
	s.live.set(rs, sc)
	return nil
}

// checkSecret checks a value as `carapace secret set` does.
func checkSecret(p SecretParams) error {
	if err := secret.CheckName(p.Name); err != nil {
		return err
	}
	switch {
	case p.Value == "":
		return errors.New("empty value")
	case len(p.Value) > 64<<10:
		return errors.New("value over 64 KiB")
	}
	for _, c := range []byte(p.Value) {
		if c == '\r' || c == '\n' || c == 0 {
			return errors.New("the value holds a line break or NUL")
		}
	}
	return nil
}
