package service

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// Spec is what one capability service is to the rest of Carapace: the one
// place its name, its token audience, how it runs and its methods with
// what each touches are written down. The router, the token code, the
// stack, the CLI and the launchd plists read it; none keeps a list of its
// own. The service's package implements exactly the methods in Rules
// (each service's tests check it with CheckMethods). docs/internals.md
// says what else adding a service takes.
type Spec struct {
	// Name is the short name: "file", and the prefix of every method.
	Name string
	// Audience is the audience a token for the service names.
	Audience string
	// StartsProcesses is set for a service that starts programs; the file
	// service answers every call from its own process.
	StartsProcesses bool
	// AsOwner is set for a service that acts as the owner in the owner's
	// session (on macOS a LaunchAgent; the others are LaunchDaemons, each
	// under a role account of its own).
	AsOwner bool
	// Rules maps each of the service's methods to what a call to it
	// touches, which the router checks against the caller's token before
	// forwarding it. A method without a rule is refused by the router.
	Rules map[string]Rule
}

// Hosted lists the methods servicehost answers for every service itself,
// after the service's name: "file.ping", "file.echo". They touch nothing.
var Hosted = []string{"ping", "echo"}

// Registry lists the capability services, in display order.
var Registry = []*Spec{
	{Name: "file", Audience: "file.local.gimme.tools", Rules: fileRules},
	{Name: "code", Audience: "code.local.gimme.tools", StartsProcesses: true, Rules: codeRules},
	{Name: "shell", Audience: "shell.local.gimme.tools", StartsProcesses: true, AsOwner: true, Rules: shellRules},
	{Name: "app", Audience: "app.local.gimme.tools", StartsProcesses: true, AsOwner: true, Rules: appRules},
}

// Lookup returns the Spec of the service called name, or nil.
func Lookup(name string) *Spec {
	for _, s := range Registry {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Names returns the services' names, in display order.
func Names() []string {
	out := make([]string, len(Registry))
	for i, s := range Registry {
		out[i] = s.Name
	}
	return out
}

// Methods returns the methods the service's package implements, sorted
// (the Hosted ones are not among them).
func (s *Spec) Methods() []string {
	out := make([]string, 0, len(s.Rules))
	for m := range s.Rules {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Rule returns the rule for method, with the Hosted methods' rule (they
// touch nothing), and reports whether there is one.
func (s *Spec) Rule(method string) (Rule, bool) {
	if r, ok := s.Rules[method]; ok {
		return r, true
	}
	for _, h := range Hosted {
		if method == s.Name+"."+h {
			return Untouched, true
		}
	}
	return nil, false
}

// Resources returns what a call to method touches, by the method's rule.
// A method without one is refused: no token can allow what the router
// cannot scope.
func (s *Spec) Resources(method string, params json.RawMessage) ([]Access, error) {
	r, ok := s.Rule(method)
	if !ok {
		return nil, Unscoped(method)
	}
	return r(method, params)
}

// Unscoped is the error for a method no rule covers.
func Unscoped(method string) error {
	return errs.E(errs.Forbidden, errs.ReasonUnscopedMethod,
		errs.Hint("the router does not know what "+method+" touches, so no token can allow it; see core/service/rules.go"),
		fmt.Errorf("no resource rule for %s", method))
}

// CheckMethods reports where a service's route table and its Spec's rules
// differ: a method without a rule (the router would refuse every call to
// it) or a rule without a method. Each service's tests call it.
func CheckMethods(name string, table map[string]Handler) error {
	s := Lookup(name)
	if s == nil {
		return fmt.Errorf("no service %q in the registry", name)
	}
	var bad []string
	for m := range table {
		if _, ok := s.Rules[m]; !ok {
			bad = append(bad, m+" has no rule")
		}
	}
	for m := range s.Rules {
		if _, ok := table[m]; !ok {
			bad = append(bad, m+" has a rule but no method")
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%s: %s", name, strings.Join(bad, "; "))
	}
	return nil
}
