package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
	"gopkg.in/yaml.v3"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/ratelimit"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service/file"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/core/token"
)

func configCheckCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace config check", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	sf.cf.named = true
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	return &ffcli.Command{
		Name:       "check",
		ShortUsage: "carapace config check [--config FILE] [--owner-config FILE]",
		ShortHelp:  "validate both configuration files and print the effective configuration",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			const op = "config check"
			st, err := sf.settings()
			if err != nil {
				return errs.E(op, err)
			}
			grants, err := stack.Grants(st.Owner)
			if err != nil {
				return errs.E(op, err)
			}
			_, kerr := token.NewKeyring(stack.Issuers(st.System))
			eff := effective(st, grants)
			if *asJSON {
				printJSON(os.Stdout, eff)
			} else {
				b, _ := yaml.Marshal(eff)
				os.Stdout.Write(b)
			}
			if kerr != nil {
				return errs.E(op, kerr)
			}
			if err := managedErrors(st); err != nil {
				return errs.E(op, err)
			}
			for _, m := range missingFolders(st) {
				fmt.Fprintf(os.Stderr, "carapace: config check: warning: %s\nhint: %s\n", m, missingHint(st, m))
			}
			for _, w := range eff.Warnings {
				fmt.Fprintf(os.Stderr, "carapace: config check: warning: %s\n", w)
			}
			fmt.Fprintf(os.Stderr, "carapace: config check: ok (%s, %s)\n", sourceOf(sf.cf.system), st.OwnerPath)
			return nil
		},
	}
}

// effectiveConfig is what config check prints: both files as they apply,
// defaults filled in.
type effectiveConfig struct {
	SystemFile string              `yaml:"system_file" json:"system_file"`
	OwnerFile  string              `yaml:"owner_file" json:"owner_file"`
	OwnerUID   int                 `yaml:"owner_uid" json:"owner_uid"`
	StateDir   string              `yaml:"state_dir" json:"state_dir"`
	AuditDir   string              `yaml:"audit_dir" json:"audit_dir"`
	MaxTTL     string              `yaml:"max_ttl" json:"max_ttl"`
	RateLimits map[string]float64  `yaml:"rate_limits" json:"rate_limits"`
	Mintable   map[string][]string `yaml:"owner_may_mint" json:"owner_may_mint"`
	FileRules  fileRulesView       `yaml:"file_rules" json:"file_rules"`
	Warnings   []string            `yaml:"warnings,omitempty" json:"warnings,omitempty"`
	System     *config.System      `yaml:"system" json:"system"`
	Owner      *config.Owner       `yaml:"owner" json:"owner"`
	Missing    []missingFolder     `yaml:"missing_folders,omitempty" json:"missing_folders,omitempty"`
	// Managed is the fleet's policy (core/managed) and Sources which
	// layer set each value it bounds.
	Managed *managed.Policy `yaml:"managed" json:"managed"`
	Sources []sourceRow     `yaml:"sources" json:"sources"`
}

// fileRulesView is the file service's deny lists as they apply: the
// built-in globs and services.file's, for every folder (each folder's
// own come on top, under owner.services.file.paths), and the
// directories no call may change.
type fileRulesView struct {
	Deny      []string `yaml:"deny" json:"deny"`             // neither read nor written: secrets
	DenyWrite []string `yaml:"deny_write" json:"deny_write"` // read, never changed: what your tools run
	Protected []string `yaml:"protected" json:"protected"`   // Carapace's own config and state
	// DenyRead are the names sandboxed commands may not read inside a
	// project (masked), before any project's own.
	DenyRead []string `yaml:"code_deny_read" json:"code_deny_read"`
}

func fileRulesOf(st *stack.Settings) fileRulesView {
	f := st.Owner.Services.File
	return fileRulesView{
		Deny:      append(append([]string{}, file.DefaultDeny...), stack.FileDeny(*st.Owner)...),
		DenyWrite: append(append([]string{}, file.DefaultDenyWrite...), f.DenyWrite...),
		Protected: st.OwnPaths(),
		DenyRead:  append(append([]string{}, denyread.Default...), st.Owner.Services.Code.DenyRead...),
	}
}

func effective(st *stack.Settings, grants map[string]scope.Set) effectiveConfig {
	maxTTL := st.System.Tokens.MaxTTL.D()
	if maxTTL <= 0 {
		maxTTL = router.DefaultMaxTTL
	}
	rl := stack.RateLimits(st.System.Rate)
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	mint := map[string][]string{}
	for aud, s := range grants {
		mint[aud] = append([]string{}, s.Strings()...)
	}
	sys := effectiveSystem(st)
	return effectiveConfig{
		SystemFile: sourceOf(st.SystemPath), OwnerFile: st.OwnerPath, OwnerUID: st.OwnerUID,
		StateDir: st.StateDir(), AuditDir: st.AuditDir(), MaxTTL: maxTTL.String(),
		Managed: st.Managed, Sources: sources(st, sys),
		RateLimits: map[string]float64{
			"per_uid": def(rl.PerUID, ratelimit.Defaults.PerUID), "per_subject": def(rl.PerSubject, ratelimit.Defaults.PerSubject),
			"conns_per_second": def(rl.ConnsPerSec, ratelimit.Defaults.ConnsPerSec),
		},
		Mintable: mint, FileRules: fileRulesOf(st), System: sys, Owner: st.Owner,
		Missing:  missingFolders(st),
		Warnings: networkWarnings(st.Owner),
	}
}

func sourceOf(path string) string {
	if path == "" {
		return "(no system file: defaults)"
	}
	if _, err := os.Stat(path); err != nil {
		return path + " (absent: defaults)"
	}
	return path
}

// networkWarnings names every list in the owner file that allows every
// host: commands there reach the whole network (through the proxy, which
// still refuses private addresses and records each connection).
func networkWarnings(o *config.Owner) []string {
	var out []string
	for _, key := range o.Services.Code.Network.WholeNetwork() {
		out = append(out, key+` allows every host ("*"): commands there reach the whole network; list the hosts they need instead (docs/network.md)`)
	}
	return out
}

// effectiveSystem is the system block as the stack uses it: the file's
// values with every default filled in, and the runtime, state and audit
// directories this stack actually uses.
func effectiveSystem(st *stack.Settings) *config.System {
	sys := *st.System
	sys.RuntimeDir, sys.StateDir = st.RuntimeDir, st.StateDir()
	sys.Audit.Path = st.AuditDir()
	l := st.Limits().WithDefaults()
	sys.Limits = config.Limits{
		MaxMessage: config.Size(l.MaxMessage), MaxConns: l.MaxConns, MaxInFlight: l.MaxInFlight,
		MaxBatch: l.MaxBatch, IdleTimeout: config.Duration(l.IdleTimeout), WriteTimeout: config.Duration(l.WriteTimeout),
	}
	if sys.Audit.MaxSize <= 0 {
		sys.Audit.MaxSize = audit.DefaultMaxSize
	}
	if sys.Audit.Fsync == "" {
		sys.Audit.Fsync = "batch"
	}
	if sys.Tokens.MaxTTL <= 0 {
		sys.Tokens.MaxTTL = config.Duration(router.DefaultMaxTTL)
	}
	return &sys
}
