package main

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/stack"
)

// configFlags locate the two configuration files.
type configFlags struct {
	system        string
	owner         string
	systemDefault string
	// named makes a file named on the command line that does not exist an
	// error (config check, dev), not defaults: for the commands a person
	// types. serve takes the paths dev passes, present or not.
	named bool
}

func (f *configFlags) register(fs *flag.FlagSet, systemDefault string) {
	f.systemDefault = systemDefault
	fs.StringVar(&f.system, "config", systemDefault, "system config file (optional in dev)")
	fs.StringVar(&f.owner, "owner-config", "", "owner config file (default: $XDG_CONFIG_HOME/gimme/local.yaml or ~/.config/gimme/local.yaml)")
}

// load reads both files. In dev the system file is optional; with named
// set, a file named on the command line must exist.
func (f *configFlags) load(systemOptional bool) (*stack.Settings, error) {
	if err := f.checkNamed(); err != nil {
		return nil, err
	}
	sys, err := config.LoadSystem(f.system, systemOptional || f.system == "")
	if err != nil {
		return nil, err
	}
	uid, err := stack.OwnerUID(sys.Owner)
	if err != nil {
		return nil, err
	}
	home := homeOf(uid)
	ownerPath := f.owner
	if ownerPath == "" {
		ownerPath = config.OwnerPath(home, xdgFor(uid))
	}
	own, err := config.LoadOwner(ownerPath, home)
	if err != nil {
		return nil, err
	}
	st := &stack.Settings{System: sys, SystemPath: f.system, Owner: own, OwnerPath: ownerPath,
		OwnerUID: uid, OwnerHome: home, Log: newLogger(), ManagedOverride: os.Getenv(managed.EnvPath)}
	applyManaged(st)
	return st, nil
}

// applyManaged reads the fleet's managed policy and narrows both files to
// it: what they and every flag ask for, never more (core/managed).
func applyManaged(st *stack.Settings) {
	p, override, warn := managed.Locate(st.ManagedOverride)
	if warn != "" {
		st.Log.Warn(warn)
	}
	st.Managed = managed.Load(p, override)
	st.ManagedChanges = st.Managed.Apply(st.Owner, st.System, st.OwnerHome)
}

// checkNamed refuses, with named set, a file named on the command line
// that does not exist.
func (f *configFlags) checkNamed() error {
	for _, named := range []struct{ flag, path, def string }{{"--config", f.system, f.systemDefault}, {"--owner-config", f.owner, ""}} {
		if !f.named || named.path == "" || named.path == named.def {
			continue
		}
		if _, err := os.Stat(named.path); err != nil {
			return usage("give a file that exists, or leave "+named.flag+" out for the default", "%s %s: %v", named.flag, named.path, errors.Unwrap(err))
		}
	}
	return nil
}

// xdgFor returns $XDG_CONFIG_HOME when the owner is the current user.
func xdgFor(uid int) string {
	if uid == os.Geteuid() {
		return os.Getenv("XDG_CONFIG_HOME")
	}
	return ""
}

// newLogger logs text to stderr at $CARAPACE_LOG's level (info default).
func newLogger() *slog.Logger {
	level := slog.LevelInfo
	switch strings.ToLower(os.Getenv("CARAPACE_LOG")) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
