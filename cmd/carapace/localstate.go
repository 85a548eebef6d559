package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/rundir"
	"github.com/gimme-tools/carapace/core/stack"
)

// stateFlags locate the configuration and the state directory for
// commands that read them directly (config check, token inspect, audit
// verify and tail).
type stateFlags struct {
	cf configFlags
	stackFlags
	state string
}

func (f *stateFlags) register(fs *flag.FlagSet) {
	f.cf.register(fs, config.DefaultSystemPath)
	f.stackFlags.register(fs)
	fs.StringVar(&f.state, "state-dir", "", "state directory (default: state_dir from the config, else the dev stack's, else "+stack.DefaultStateDir+")")
}

// settings loads the config and settles the runtime and state directories
// as the stack uses them: --runtime-dir, else the running dev stack's
// (next to its socket), else a stopped dev stack's, else runtime_dir or
// /run/gimme; --state-dir, else state_dir, else the dev stack's, else
// the installed default.
func (f *stateFlags) settings() (*stack.Settings, error) {
	st, err := f.cf.load(true)
	if err != nil {
		return nil, err
	}
	st.StateDirFlag = f.state
	st.RuntimeDir = f.runtimeDir
	st.Dev = f.runtimeDir != ""
	if !st.Dev {
		if st.RuntimeDir, st.Dev, err = f.devRuntime(); err != nil {
			return nil, err
		}
	}
	if st.RuntimeDir == "" {
		st.RuntimeDir = st.System.RuntimeDir
	}
	if st.RuntimeDir == "" {
		st.RuntimeDir = defaultRuntimeDir
	}
	return st, nil
}

// defaultRuntimeDir is an installed stack's runtime directory.
const defaultRuntimeDir = "/run/gimme"

// devRuntime finds a dev stack's runtime directory: the one of the socket
// the flags choose when it holds a state directory, else (a stopped dev
// stack's sockets are gone, its state is not) one in a dev runtime
// directory of this user's that passes the dev stack's own checks (yours,
// 0700, parents nobody else can change): state read from a directory
// someone else made would be theirs to forge.
func (f *stateFlags) devRuntime() (string, bool, error) {
	sock, err := f.path()
	if err != nil {
		return "", false, err
	}
	if err := client.CheckPlace(sock); err != nil {
		return "", false, err
	}
	if fi, err := os.Stat(filepath.Join(filepath.Dir(sock), "state")); err == nil && fi.IsDir() {
		return filepath.Dir(sock), true, nil
	}
	for _, run := range rundir.Dirs() {
		fi, err := os.Stat(filepath.Join(run, "state"))
		if err == nil && fi.IsDir() && rundir.Check(run, os.Geteuid()) == nil {
			return run, true, nil
		}
	}
	return "", false, nil
}

// auditDir returns the audit log to read: explicit when given (--dir),
// else the configured one.
func (f *stateFlags) auditDir(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	st, err := f.settings()
	if err != nil {
		return "", err
	}
	dir := st.AuditDir()
	if _, err := os.Stat(dir); err != nil {
		looked := []string{dir}
		if !st.Dev {
			for _, run := range rundir.Dirs() {
				looked = append(looked, filepath.Join(run, "state", "audit"))
			}
		}
		return "", errs.E(errs.NotFound, errs.ReasonNoAuditLog,
			errs.Hint("pass --dir DIR (audit.path in the system config, or <state dir>/audit); --state-dir names a stack's state directory"),
			fmt.Errorf("no audit log: looked in %s", strings.Join(looked, ", ")))
	}
	return dir, nil
}
