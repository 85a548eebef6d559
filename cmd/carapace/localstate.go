package main

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/config"
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
		run := filepath.Dir(sock)
		if fi, err := os.Stat(filepath.Join(run, "state")); err == nil && fi.IsDir() {
			st.RuntimeDir, st.Dev = run, true
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
	return st.AuditDir(), nil
}
