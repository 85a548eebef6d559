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

// stateFlags locate the state directory for commands that read it
// directly (token inspect, audit verify and tail).
type stateFlags struct {
	cf     configFlags
	state  string
	socket string
}

func (f *stateFlags) register(fs *flag.FlagSet) {
	f.cf.register(fs, config.DefaultSystemPath)
	fs.StringVar(&f.state, "state-dir", "", "state directory (default: state_dir from the config, else the dev stack's, else "+stack.DefaultStateDir+")")
	fs.StringVar(&f.socket, "socket", "", "router socket, to find a dev stack's state (default: as for other commands)")
}

// settings loads the config and settles the state directory: --state-dir,
// else state_dir, else the running dev stack's (next to its socket), else
// the installed default.
func (f *stateFlags) settings() (*stack.Settings, error) {
	st, err := f.cf.load(true)
	if err != nil {
		return nil, err
	}
	st.StateDirFlag = f.state
	if f.state == "" && st.System.StateDir == "" {
		sock := client.Socket(f.socket)
		if err := client.CheckPlace(sock); err != nil {
			return nil, err
		}
		// The running dev stack's, else (a stopped dev stack's sockets
		// are gone, its state is not) one in a dev runtime directory of
		// this user's that passes the dev stack's own checks (yours, 0700,
		// parents nobody else can change): state read from a directory
		// someone else made would be theirs to forge.
		if fi, err := os.Stat(filepath.Join(filepath.Dir(sock), "state")); err == nil && fi.IsDir() {
			st.RuntimeDir, st.Dev = filepath.Dir(sock), true
		} else {
			for _, run := range rundir.Dirs() {
				fi, err := os.Stat(filepath.Join(run, "state"))
				if err == nil && fi.IsDir() && rundir.Check(run, os.Geteuid()) == nil {
					st.RuntimeDir, st.Dev = run, true
					break
				}
			}
		}
	}
	return st, nil
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
