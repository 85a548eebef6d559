// Package install plans a CLI-only install of Carapace on macOS, without
// the menu-bar app and SMAppService: role accounts, launchd plists in
// /Library/LaunchDaemons and /Library/LaunchAgents, `launchctl bootstrap`,
// and an uninstall that leaves nothing behind.
//
// Install and Uninstall only return the steps, so a dry run prints them and
// tests check them on any OS; Apply (darwin only) carries them out as root.
package install

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/gimme-tools/carapace/launchd"
)

// Step is one thing the installer does.
type Step struct {
	Op     string      // "run", "write", "remove" or "symlink"
	Args   []string    // run: the command and its arguments
	Path   string      // write, remove, symlink: the file
	Data   []byte      // write: the content
	Mode   os.FileMode // write: the permissions
	Target string      // symlink: what Path points to
	// MayFail marks a command whose failure is expected when there is
	// nothing to undo (booting out a job that is not loaded).
	MayFail bool
}

// String renders the step as a shell-like line for a dry run.
func (s Step) String() string {
	switch s.Op {
	case "run":
		q := make([]string, len(s.Args))
		for i, a := range s.Args {
			q[i] = a
			if strings.ContainsAny(a, " '\"*") {
				q[i] = strconv.Quote(a)
			}
		}
		return strings.Join(q, " ")
	case "write":
		return fmt.Sprintf("write %s (%d bytes, mode %04o)", s.Path, len(s.Data), s.Mode)
	case "symlink":
		return fmt.Sprintf("ln -sf %s %s", s.Target, s.Path)
	}
	return "rm -rf " + s.Path
}

// Options describe the machine the plan is for. The darwin executor fills
// Users and Groups from dscl.
type Options struct {
	Bundle   string         // absolute path of Carapace.app; launchd.DefaultBundle if empty
	OwnerUID int            // the owner, whose GUI session runs the agents
	Users    map[string]int // existing user name → uid
	Groups   map[string]int // existing group name → gid
	CLILink  string         // symlink to the CLI; /usr/local/bin/carapace if empty
}

// Where the CLI-only install puts things.
const (
	DaemonDir = "/Library/LaunchDaemons"
	AgentDir  = "/Library/LaunchAgents"
	StateDir  = "/Library/Application Support/Carapace"
	// FirstID and LastID bound the ids of role accounts: macOS reserves
	// 200–400 for them (sysadminctl -roleAccount enforces it).
	FirstID, LastID = 200, 400
)

func (o Options) bundle() string {
	if o.Bundle == "" {
		return launchd.DefaultBundle
	}
	return o.Bundle
}

func (o Options) link() string {
	if o.CLILink == "" {
		return "/usr/local/bin/carapace"
	}
	return o.CLILink
}

// plistPath returns where svc's plist goes.
func plistPath(svc string) string {
	if launchd.IsAgent(svc) {
		return path.Join(AgentDir, launchd.FileName(svc))
	}
	return path.Join(DaemonDir, launchd.FileName(svc))
}

// domain returns the launchd domain target svc is bootstrapped into.
func (o Options) domain(svc string) string {
	if launchd.IsAgent(svc) {
		return fmt.Sprintf("gui/%d", o.OwnerUID)
	}
	return "system"
}

// Install returns the steps of a CLI-only install, in order: the group and
// role accounts (launchd will not start a job whose user does not exist),
// the state directory, the plists, then bootstrapping each job.
func Install(o Options) ([]Step, error) {
	if !path.IsAbs(o.bundle()) {
		return nil, fmt.Errorf("install: bundle path %q is not absolute", o.bundle())
	}
	if o.OwnerUID < 501 {
		return nil, fmt.Errorf("install: owner uid %d is not a person's account (hint: run with sudo from the owner's session, or pass the owner's uid)", o.OwnerUID)
	}
	steps, err := accounts(o)
	if err != nil {
		return nil, err
	}
	steps = append(steps,
		Step{Op: "run", Args: []string{"mkdir", "-p", "-m", "0750", StateDir}},
		Step{Op: "run", Args: []string{"chown", launchd.User("router") + ":" + launchd.Group, StateDir}},
	)
	for _, svc := range launchd.Services() {
		b, err := launchd.Render(svc, launchd.Options{Bundle: o.bundle(), Bootstrap: true})
		if err != nil {
			return nil, err
		}
		steps = append(steps, Step{Op: "write", Path: plistPath(svc), Data: b, Mode: 0o644})
	}
	for _, svc := range launchd.Services() {
		target := o.domain(svc) + "/" + launchd.Label(svc)
		steps = append(steps,
			Step{Op: "run", Args: []string{"launchctl", "enable", target}},
			Step{Op: "run", Args: []string{"launchctl", "bootstrap", o.domain(svc), plistPath(svc)}},
		)
	}
	steps = append(steps, Step{Op: "symlink", Path: o.link(), Target: path.Join(o.bundle(), launchd.BundleProgram)})
	return steps, nil
}

// Uninstall returns the steps that undo Install: boot out every job, remove
// the plists, the CLI link, the state directory and the accounts.
func Uninstall(o Options) []Step {
	var steps []Step
	for _, svc := range launchd.Services() {
		steps = append(steps, Step{Op: "run", MayFail: true,
			Args: []string{"launchctl", "bootout", o.domain(svc) + "/" + launchd.Label(svc)}})
	}
	for _, svc := range launchd.Services() {
		steps = append(steps, Step{Op: "remove", Path: plistPath(svc)})
	}
	steps = append(steps, Step{Op: "remove", Path: o.link()}, Step{Op: "remove", Path: StateDir})
	for _, svc := range launchd.Daemons {
		if _, ok := o.Users[launchd.User(svc)]; ok {
			steps = append(steps, Step{Op: "run", Args: []string{"dscl", ".", "-delete", "/Users/" + launchd.User(svc)}})
		}
	}
	if _, ok := o.Groups[launchd.Group]; ok {
		steps = append(steps, Step{Op: "run", Args: []string{"dscl", ".", "-delete", "/Groups/" + launchd.Group}})
	}
	return steps
}

// accounts returns the steps creating the _gimme group and one hidden role
// account per daemon, reusing the ids of those that exist.
func accounts(o Options) ([]Step, error) {
	used := map[int]bool{}
	for _, id := range o.Users {
		used[id] = true
	}
	for _, id := range o.Groups {
		used[id] = true
	}
	gid, ok := o.Groups[launchd.Group]
	if !ok {
		var err error
		if gid, err = freeID(used); err != nil {
			return nil, err
		}
	}
	g := "/Groups/" + launchd.Group
	steps := []Step{
		dscl(g), dscl(g, "PrimaryGroupID", strconv.Itoa(gid)),
		dscl(g, "RealName", "Carapace services"), dscl(g, "Password", "*"),
	}
	for _, svc := range launchd.Daemons {
		name := launchd.User(svc)
		uid, ok := o.Users[name]
		if !ok {
			var err error
			if uid, err = freeID(used); err != nil {
				return nil, err
			}
		}
		u := "/Users/" + name
		steps = append(steps, dscl(u),
			dscl(u, "UniqueID", strconv.Itoa(uid)), dscl(u, "PrimaryGroupID", strconv.Itoa(gid)),
			dscl(u, "RealName", "Carapace "+svc+" service"), dscl(u, "UserShell", "/usr/bin/false"),
			dscl(u, "NFSHomeDirectory", "/var/empty"), dscl(u, "Password", "*"), dscl(u, "IsHidden", "1"),
			Step{Op: "run", Args: []string{"dscl", ".", "-append", g, "GroupMembership", name}},
		)
	}
	return steps, nil
}

func dscl(record string, kv ...string) Step {
	return Step{Op: "run", Args: append([]string{"dscl", ".", "-create", record}, kv...)}
}

// freeID returns the lowest id in [FirstID, LastID] not in used, and marks it.
func freeID(used map[int]bool) (int, error) {
	for id := FirstID; id <= LastID; id++ {
		if !used[id] {
			used[id] = true
			return id, nil
		}
	}
	return 0, fmt.Errorf("install: no free id between %d and %d for a role account", FirstID, LastID)
}

// ParseDsclList parses the output of `dscl . -list /Users UniqueID` (or
// /Groups PrimaryGroupID): one "name id" per line.
func ParseDsclList(out string) (map[string]int, error) {
	m := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("install: unexpected dscl line %q", line)
		}
		id, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("install: unexpected dscl line %q: %w", line, err)
		}
		m[f[0]] = id
	}
	return m, nil
}
