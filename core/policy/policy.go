// Package policy decides whether a command line may run: allow, prompt
// the owner, or forbidden, by rules on argv prefixes in the style of
// Codex's execpolicy.
//
// A rule's first word names the program, by basename ("git") or by
// absolute path ("/usr/bin/git"); the command's program is resolved with a
// PATH lookup first, so "git", "/usr/bin/git" and "./../../usr/bin/git"
// are the same program. The other words match the command's next
// arguments in order, each as a path.Match glob ("push", "--force*").
// Every matching rule counts and the strictest decision wins (forbidden >
// prompt > allow); with no match the policy's default decides. A small
// built-in list (Builtin) is always consulted and cannot be overridden;
// a service may add its own defaults (DefaultRules: the shell service's
// InlineCode, which asks about python -c and the like).
//
// The policy is a convenience layer on top of the sandbox and the owner's
// approvals, not a boundary: it reads command lines heuristically, and a
// program it does not recognise runs as its default says.
//
// For the shell service's remembered approvals, Plain splits a line into
// the simple commands a grant may cover (or says why it cannot), and
// NeverRemember names what must be asked about every time.
//
// Wrappers that run another command (env, nice, timeout, xargs, …) are
// looked through, and a shell's -c string is split into its simple
// commands and each checked; a string using command substitution,
// redirection into a shell or anything else the splitter does not
// understand is at least "prompt".
package policy

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
)

// Decision is a rule's verdict. Larger is stricter.
type Decision int

// The decisions, from least to most strict.
const (
	Allow Decision = iota + 1
	Prompt
	Forbidden
)

var decisionNames = map[Decision]string{Allow: "allow", Prompt: "prompt", Forbidden: "forbidden"}

// String returns "allow", "prompt" or "forbidden".
func (d Decision) String() string {
	if s, ok := decisionNames[d]; ok {
		return s
	}
	return fmt.Sprintf("decision(%d)", int(d))
}

// ParseDecision parses "allow", "prompt" or "forbidden".
func ParseDecision(s string) (Decision, error) {
	for d, name := range decisionNames {
		if s == name {
			return d, nil
		}
	}
	return 0, fmt.Errorf("decision %q: want allow, prompt or forbidden", s)
}

// Rule is one policy rule.
type Rule struct {
	Match    []string
	Decision Decision
	Reason   string
	// also, when set, must accept the whole argv too (built-in rules
	// that look at arguments anywhere, such as dd's of=).
	also func(argv []string) bool
}

// Result is what Check decided and why.
type Result struct {
	Decision Decision
	// Rule is the rule that decided, nil when the default did.
	Rule *Rule
	// Reason is the deciding rule's reason, or a sentence naming the
	// default.
	Reason string
	// Program is the resolved program of the command that decided (for
	// a shell -c string or a wrapper, the inner command).
	Program string
}

// Policy checks command lines. The zero value is not usable; use New.
type Policy struct {
	rules    []Rule
	def      Decision
	lookPath func(string) (string, error)
}

// DefaultFor returns the decision for commands no rule matches in a
// service: inside the code service's sandbox, allow; in the unsandboxed
// shell service, prompt.
func DefaultFor(service string) Decision {
	if service == "code" {
		return Allow
	}
	return Prompt
}

// DefaultRules returns the rules a service's policy has besides Builtin
// and the owner's: for the shell service, InlineCode; none for code.
func DefaultRules(service string) []Rule {
	if service == "shell" {
		return InlineCode()
	}
	return nil
}

// New returns a policy with rules (the owner's), the default decision def,
// and lookPath to resolve a program name (exec.LookPath, or a test's
// fake; nil leaves names unresolved).
func New(rules []Rule, def Decision, lookPath func(string) (string, error)) (*Policy, error) {
	if _, ok := decisionNames[def]; !ok {
		return nil, fmt.Errorf("policy default: bad decision %d", def)
	}
	for i, r := range rules {
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("policy rule %d: %w", i+1, err)
		}
	}
	return &Policy{rules: append(Builtin(), rules...), def: def, lookPath: lookPath}, nil
}

func (r Rule) validate() error {
	if len(r.Match) == 0 || r.Match[0] == "" {
		return fmt.Errorf("match needs a program, as in match: [git, push]")
	}
	if _, ok := decisionNames[r.Decision]; !ok {
		return fmt.Errorf("bad decision %d", r.Decision)
	}
	for _, w := range r.Match {
		if _, err := path.Match(w, ""); err != nil {
			return fmt.Errorf("match word %q: %w", w, err)
		}
	}
	return nil
}

// Check decides argv. An empty argv is forbidden.
func (p *Policy) Check(argv []string) Result {
	if len(argv) == 0 || argv[0] == "" {
		return Result{Decision: Forbidden, Reason: "empty command"}
	}
	best := Result{Decision: p.def, Program: p.resolve(argv[0]),
		Reason: "no rule matches; the default is " + p.def.String()}
	matched := false
	for _, cmd := range expand(argv, 0) {
		r := p.checkSimple(cmd.argv)
		if cmd.force != nil && cmd.force.Decision > r.Decision {
			r = *cmd.force
		}
		if cmd.opaque && r.Decision < Prompt {
			r = Result{Decision: Prompt, Program: r.Program,
				Reason: "a shell command line this policy cannot read fully (" + cmd.why + ")"}
		}
		if r.Decision == 0 {
			continue
		}
		if !matched || r.Decision > best.Decision {
			best, matched = r, true
		}
	}
	return best
}

// checkSimple applies the rules to one simple command; Decision is 0 when
// none matches.
func (p *Policy) checkSimple(argv []string) Result {
	prog := p.resolve(argv[0])
	var best Result
	best.Program = prog
	for i := range p.rules {
		r := &p.rules[i]
		if !r.matches(prog, argv) {
			continue
		}
		if r.Decision > best.Decision {
			best = Result{Decision: r.Decision, Rule: r, Reason: r.Reason, Program: prog}
		}
	}
	return best
}

// resolve turns a program name into an absolute, clean path where it can.
func (p *Policy) resolve(name string) string {
	if !strings.Contains(name, "/") && p.lookPath != nil {
		if abs, err := p.lookPath(name); err == nil {
			name = abs
		}
	}
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return name
}

// matches reports whether r's words are a prefix of the command.
func (r *Rule) matches(prog string, argv []string) bool {
	if len(argv) < len(r.Match) || !matchProgram(r.Match[0], prog) {
		return false
	}
	for i, w := range r.Match[1:] {
		if ok, _ := path.Match(w, argv[i+1]); !ok {
			return false
		}
	}
	return r.also == nil || r.also(argv)
}

// matchProgram matches a rule's program word: an absolute path against the
// resolved path, anything else against its basename.
func matchProgram(word, prog string) bool {
	if filepath.IsAbs(word) {
		ok, _ := path.Match(word, prog)
		return ok
	}
	ok, _ := path.Match(word, filepath.Base(prog))
	return ok
}

// Err returns nil for allow and prompt, and for forbidden the -32003 error
// the services return: reason denied_by_rule, the rule's words and
// reason in data.
func (r Result) Err(op string) error {
	if r.Decision != Forbidden {
		return nil
	}
	data := map[string]any{"rule_reason": r.Reason}
	if r.Rule != nil {
		data["rule"] = r.Rule.Match
	}
	return errs.E(op, errs.Forbidden, errs.ReasonDeniedByRule, data,
		errs.Hint("forbidden by the command policy: "+r.Reason+
			"; built-in rules cannot be lifted, your own are under policy: in ~/.config/gimme/local.yaml"))
}
