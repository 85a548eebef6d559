package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/stack"
)

// The layers a value can come from, strongest first: the fleet's managed
// policy, a command-line flag, the system file, the owner file, the
// built-in default. Managed always wins; below it each layer can only
// narrow what the one above allows.
const (
	layerManaged = "managed"
	layerFlag    = "flag"
	layerSystem  = "system"
	layerOwner   = "owner"
	layerDefault = "default"
)

// sourceRow is one effective value and the layer that set it.
type sourceRow struct {
	Key   string `yaml:"key" json:"key"`
	Value string `yaml:"value" json:"value"`
	Layer string `yaml:"layer" json:"layer"`
	Why   string `yaml:"why,omitempty" json:"why,omitempty"`
}

// sources lists, for each value the policy layers decide, where it came
// from. sys is the system block as the stack uses it (defaults filled).
func sources(st *stack.Settings, sys *config.System) []sourceRow {
	changed := map[string]string{}
	for _, c := range st.ManagedChanges {
		if changed[c.Key] != "" {
			changed[c.Key] += "; "
		}
		changed[c.Key] += c.What
	}
	_, ownErr := os.Stat(st.OwnerPath)
	ownerOr := func(set bool) string {
		if ownErr == nil && set {
			return layerOwner
		}
		return layerDefault
	}
	sysOr := func(set bool) string {
		if set {
			return layerSystem
		}
		return layerDefault
	}
	var rows []sourceRow
	add := func(key, value, layer string) {
		if why, ok := changed[key]; ok {
			layer = layerManaged
			rows = append(rows, sourceRow{key, value, layer, why})
			return
		}
		rows = append(rows, sourceRow{Key: key, Value: value, Layer: layer})
	}
	o := st.Owner.Services
	for _, n := range service.Names() {
		on := stack.Enabled(st.Owner, n)
		layer := ownerOr(true)
		if !st.Managed.Allows(n) && !on {
			layer = layerManaged
			if _, ok := changed["services."+n+".enabled"]; !ok {
				changed["services."+n+".enabled"] = "not among the managed services"
			}
		}
		add("services."+n+".enabled", strconv.FormatBool(on), layer)
	}
	var folders []string
	for _, f := range o.File.Paths {
		folders = append(folders, f.Path)
	}
	add("services.file.paths", strings.Join(folders, ", "), ownerOr(true))
	add("services.file.deny", strings.Join(o.File.Deny, ", "), ownerOr(len(o.File.Deny) > 0))
	add("services.file.deny_write", strings.Join(o.File.DenyWrite, ", "), ownerOr(len(o.File.DenyWrite) > 0))
	add("services.code.project_roots", strings.Join(o.Code.ProjectRoots, ", "), ownerOr(true))
	add("services.code.deny_read", strings.Join(o.Code.DenyRead, ", "), ownerOr(len(o.Code.DenyRead) > 0))
	add("services.code.network.allow", strings.Join(o.Code.Network.Allow, ", "), ownerOr(len(o.Code.Network.Allow) > 0))
	add("services.code.network.deny", strings.Join(o.Code.Network.Deny, ", "), ownerOr(len(o.Code.Network.Deny) > 0))
	raw := st.System
	add("tokens.max_ttl", sys.Tokens.MaxTTL.D().String(), sysOr(raw.Tokens.MaxTTL > 0))
	switch {
	case st.StateDirFlag != "":
		add("state_dir", sys.StateDir, layerFlag)
	default:
		add("state_dir", sys.StateDir, sysOr(raw.StateDir != ""))
	}
	add("runtime_dir", sys.RuntimeDir, sysOr(raw.RuntimeDir != ""))
	add("audit.path", sys.Audit.Path, sysOr(raw.Audit.Path != ""))
	add("audit.fsync", sys.Audit.Fsync, sysOr(raw.Audit.Fsync != ""))
	for _, r := range []struct {
		key string
		v   float64
	}{{"rate_limits.per_uid", raw.Rate.PerUID}, {"rate_limits.per_subject", raw.Rate.PerSubject}, {"rate_limits.conns_per_second", raw.Rate.ConnsPerSecond}} {
		add(r.key, strconv.FormatFloat(r.v, 'g', -1, 64), sysOr(r.v != 0))
	}
	l := sys.Limits
	for _, r := range []struct {
		key   string
		value string
		set   bool
	}{
		{"limits.max_message_bytes", fmt.Sprint(int64(l.MaxMessage)), raw.Limits.MaxMessage != 0},
		{"limits.max_connections", fmt.Sprint(l.MaxConns), raw.Limits.MaxConns != 0},
		{"limits.max_in_flight", fmt.Sprint(l.MaxInFlight), raw.Limits.MaxInFlight != 0},
		{"limits.max_batch", fmt.Sprint(l.MaxBatch), raw.Limits.MaxBatch != 0},
		{"limits.idle_timeout", l.IdleTimeout.D().String(), raw.Limits.IdleTimeout != 0},
	} {
		add(r.key, r.value, sysOr(r.set))
	}
	p := st.Managed
	managedOr := func(set bool) string {
		if set {
			return layerManaged
		}
		return layerDefault
	}
	add("shell.require_human", strconv.FormatBool(p.Shell.RequireHuman), managedOr(p.Shell.RequireHuman))
	agents := "any"
	if p.Agents != nil {
		agents = strings.Join(p.Agents, ", ")
	}
	add("agents", agents, managedOr(p.Agents != nil))
	add("audit.export_required", strconv.FormatBool(p.Audit.ExportRequired), managedOr(p.Audit.ExportRequired))
	slices.SortStableFunc(rows, func(a, b sourceRow) int { return strings.Compare(a.Key, b.Key) })
	return rows
}

// managedErrors returns every error of the managed policy, each naming
// the file, the line and the key, or nil.
func managedErrors(st *stack.Settings) error {
	errsOf := st.Managed.Errs()
	if len(errsOf) == 0 {
		return nil
	}
	var msgs []string
	for _, e := range errsOf {
		msgs = append(msgs, e.Error())
	}
	return errs.E(errs.InvalidParams, managed.ReasonInvalid,
		errs.Hint("the services each entry governs will not start until it is fixed; whoever manages this machine fixes "+st.Managed.Source),
		errors.New(strings.Join(msgs, "; ")))
}
