// Package managed reads the managed policy an administrator pushes to
// every machine of a fleet — /etc/gimme/managed.yaml on Linux (config
// management: Ansible, Puppet, Chef, Salt), the managed preferences
// domain tools.gimme.carapace on macOS (an MDM configuration profile) —
// and applies it above the system and owner configuration.
//
// The rule: managed narrows, never widens. Apply takes the owner's and
// the system's configuration and returns them with every managed limit
// applied; nothing in local.yaml or on a command line can ask for more.
// Check decides, at every call, what the current policy still allows, so
// a policy changed after a token was issued binds that token at its next
// call.
//
// A policy that cannot be read, parsed or trusted stops every service; an
// invalid entry stops the services it governs (Policy.Err). Neither ever
// falls back to the looser layer below.
package managed

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultPath is where config management puts the managed policy on Linux.
const DefaultPath = "/etc/gimme/managed.yaml"

// EnvPath names the environment variable that points at another policy
// file, for tests and dev stacks; it is honoured only on a machine
// without one at DefaultPath (Locate).
const EnvPath = "CARAPACE_MANAGED"

// Policy is a managed policy. A nil list means "no limit"; an empty one
// allows nothing.
type Policy struct {
	// Source is the file the policy was read from ("" when there is none).
	Source string `yaml:"-" json:"source,omitempty"`
	// Services are the services owners may enable.
	Services []string `yaml:"services" json:"services"`
	// Folders and ProjectRoots are patterns ("~/Work/*": * within one
	// segment): an owner's folder or project root must lie inside a
	// match.
	Folders      []string `yaml:"folders" json:"folders"`
	ProjectRoots []string `yaml:"project_roots" json:"project_roots"`
	// DenyRead and DenyWrite are globs added to every folder and project
	// (the shape of services.file.deny and deny_write).
	DenyRead  []string `yaml:"deny_read" json:"deny_read"`
	DenyWrite []string `yaml:"deny_write" json:"deny_write"`
	// Network bounds the hosts sandboxed commands may reach: an owner's
	// allow rule keeps only what Allow also allows; Deny is added.
	Network Network `yaml:"network" json:"network"`
	Shell   Shell   `yaml:"shell" json:"shell"`
	Tokens  Tokens  `yaml:"tokens" json:"tokens"`
	// Agents are the agent names (a token's agent claim, which `carapace
	// agent` and `carapace mcp` carry) that may be used.
	Agents []string `yaml:"agents" json:"agents"`
	Audit  Audit    `yaml:"audit" json:"audit"`

	// broken holds, per service, why the policy stops it.
	broken map[string]error
	// maxTTL is Tokens.MaxTTL parsed (0: no bound).
	maxTTL time.Duration
	// cache holds the patterns compiled for the last home Check saw.
	cache atomic.Pointer[patterns]
}

// Network is the managed network bound.
type Network struct {
	Allow []string `yaml:"allow" json:"allow"`
	Deny  []string `yaml:"deny" json:"deny"`
}

// Shell holds the shell service's managed settings.
type Shell struct {
	// RequireHuman: every shell command is decided by a person — no
	// remembered approval, no reviewer command.
	RequireHuman bool `yaml:"require_human" json:"require_human"`
}

// Tokens bounds tokens.
type Tokens struct {
	// MaxTTL is the longest lifetime a token may have ("8h"); "" no bound.
	MaxTTL string `yaml:"max_ttl" json:"max_ttl,omitempty"`
}

// Audit holds the managed audit settings.
type Audit struct {
	// ExportRequired: the router refuses to start unless the audit
	// records also go to the system log (journald, the unified log).
	ExportRequired bool `yaml:"export_required" json:"export_required"`
}

// None is the policy of a machine without one: no limits.
func None() *Policy { return &Policy{} }

// MaxTTL returns Tokens.MaxTTL as a duration, 0 when unbounded.
func (p *Policy) MaxTTL() time.Duration { return p.maxTTL }

// Err returns why the policy stops service svc, or nil: the file could not
// be trusted or parsed (every service), or an entry governing svc is
// invalid. The error names the file, the line and the key.
func (p *Policy) Err(svc string) error {
	if p == nil {
		return nil
	}
	return p.broken[svc]
}

// Errs returns every error of the policy, each once.
func (p *Policy) Errs() []error {
	var out []error
	for _, svc := range slices.Sorted(maps.Keys(p.broken)) {
		if err := p.broken[svc]; !slices.ContainsFunc(out, func(e error) bool { return e == err }) {
			out = append(out, err)
		}
	}
	return out
}

// Allows reports whether the policy lets owners enable service svc.
func (p *Policy) Allows(svc string) bool {
	return p == nil || p.Services == nil || slices.Contains(p.Services, svc)
}

// AgentAllowed reports whether a token with agent claim name may be used.
// The owner's own tokens carry no agent claim and are always allowed.
func (p *Policy) AgentAllowed(name string, owner bool) bool {
	if p == nil || p.Agents == nil || (owner && name == "") {
		return true
	}
	return slices.Contains(p.Agents, name)
}

// breakAll stops every service in svcs with err.
func (p *Policy) breakAll(svcs []string, err error) {
	if p.broken == nil {
		p.broken = map[string]error{}
	}
	for _, s := range svcs {
		if p.broken[s] == nil {
			p.broken[s] = err
		}
	}
}

// governs names the services each key of the policy governs: an invalid
// entry stops those, and only those.
func governs(key string, all []string) []string {
	switch key {
	case "folders", "deny_write":
		return []string{"file"}
	case "project_roots", "network":
		return []string{"code"}
	case "deny_read":
		return []string{"file", "code"}
	case "shell":
		return []string{"shell"}
	}
	return all // services, tokens, agents, audit, and anything unknown
}

// Error is an invalid managed policy: the file, the line (0 unknown), the
// key and what is wrong.
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("managed policy %s: %v", loc, e.Err)
	}
	return fmt.Sprintf("managed policy %s: %s: %v", loc, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrInvalid is what every Error matches with errors.Is.
var ErrInvalid = errors.New("invalid managed policy")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
