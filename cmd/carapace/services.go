package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/sandbox"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/app"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/service/file"
	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/stack"
)

// sandboxPath is the PATH sandboxed commands see and policy rules resolve
// programs against.
const sandboxPath = "/usr/local/bin:/usr/bin:/bin"

// newService builds a service's implementation from the settings and
// confines the process to what that service needs, before it serves.
func newService(name string, st *stack.Settings, sockDir string, auth servicehost.Authorize) (service.Service, error) {
	build, ok := builders[name]
	if !ok {
		return nil, errs.E(errs.InvalidParams, errs.Reason("unknown_service"),
			errs.Hint("services are: "+strings.Join(service.Names(), ", ")))
	}
	return build(st, sockDir, auth)
}

// builders builds each service in service.Registry (a test checks there is
// one for each).
var builders = map[string]func(st *stack.Settings, sockDir string, auth servicehost.Authorize) (service.Service, error){
	"file":  newFileService,
	"code":  newCodeService,
	"shell": newShellService,
	"app":   newAppService,
}

func newCodeService(st *stack.Settings, _ string, auth servicehost.Authorize) (service.Service, error) {
	c := st.Owner.Services.Code
	pol, err := commandPolicy("code", c.Policy)
	if err != nil {
		return nil, err
	}
	// As root, RLIMIT_NPROC binds nothing: the service joins a pids
	// cgroup once, which every command is born in (cheaper than moving
	// each command into one of its own; the commands share the bound).
	procs := int64(c.Limits.Processes)
	if procs <= 0 {
		procs = sandbox.DefaultLimits.Procs
	}
	if os.Geteuid() == 0 {
		serviceCgroup(4 * procs)
	}
	// The helper protects .git in a mount namespace; with network rules
	// the service itself dials out for its commands (core/egress).
	if err := confine(sandbox.Profile{Exec: true, Namespaces: true, Network: c.Network.Any()}); err != nil {
		return nil, err
	}
	sc, err := ownerScanner(st)
	if err != nil {
		return nil, err
	}
	var noRedact []string
	projectDeny := map[string][]string{}
	for _, p := range c.Projects {
		if p.NoRedact() {
			noRedact = append(noRedact, p.Path)
		}
		if len(p.DenyRead) > 0 {
			projectDeny[p.Path] = p.DenyRead
		}
	}
	return code.New(code.Config{
		ProjectRoots:   c.ProjectRoots,
		Network:        c.Network.RulesFor,
		DefaultTimeout: c.Timeout.D(),
		MaxTimeout:     c.MaxTimeout.D(),
		MaxOutput:      int(c.MaxOutput),
		Path:           sandboxPath,
		Limits: sandbox.Limits{
			Procs: int64(c.Limits.Processes), OpenFiles: int64(c.Limits.OpenFiles),
			FileSize: int64(c.Limits.FileSize), CPUSeconds: int64(c.Limits.CPU.D().Seconds()),
			AddressSpace: int64(c.Limits.Memory),
		},
		SandboxOff:      c.Sandbox == "off",
		Protect:         st.OwnPaths(),
		WarmHelpers:     c.WarmHelpers,
		Policy:          pol,
		Redact:          sc,
		NoRedact:        noRedact,
		DenyRead:        c.DenyRead,
		ProjectDenyRead: projectDeny,
		Authorize:       auth,
	}), nil
}

// shell and app (issue 6) run as the owner, without Landlock; see
// docs/shellapp.md.
func newShellService(st *stack.Settings, _ string, _ servicehost.Authorize) (service.Service, error) {
	c := st.Owner.Services.Shell
	pol, err := commandPolicy("shell", c.Policy)
	if err != nil {
		return nil, err
	}
	// Approved commands run anywhere as the owner and may use the
	// network; they inherit no-new-privs and the seccomp denylist.
	if err := confine(sandbox.Profile{Exec: true, Network: true}); err != nil {
		return nil, err
	}
	sc, err := ownerScanner(st)
	if err != nil {
		return nil, err
	}
	cfg := shell.Config{OwnerUID: st.OwnerUID, ApprovalTimeout: c.ApprovalTimeout.D(), Policy: pol, Log: st.Log, Redact: sc,
		GrantsFile: shellGrantsFile(st), Desktop: desktopNotifier(st.Log)}
	if c.Reviewer != "" {
		cfg.Reviewer = &shell.Reviewer{Path: c.Reviewer, Args: c.ReviewerArgs, Timeout: c.ReviewerTimeout.D(),
			Env: []string{"PATH=" + sandboxPath, "HOME=" + st.OwnerHome}, Log: st.Log}
	}
	return shell.New(cfg)
}

// shellGrantsFile is where the shell service keeps remembered approvals:
// the owner's own state, since the service runs as the owner — the dev
// stack's state directory, else $XDG_STATE_HOME/carapace (default
// ~/.local/state/carapace).
func shellGrantsFile(st *stack.Settings) string {
	const name = "shell-grants.json"
	if st.Dev || st.StateDirFlag != "" {
		return filepath.Join(st.StateDir(), name)
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "carapace", name)
	}
	return filepath.Join(st.OwnerHome, ".local", "state", "carapace", name)
}

func newAppService(st *stack.Settings, _ string, _ servicehost.Authorize) (service.Service, error) {
	// Not confined: GUI apps (Electron, Chromium, Firefox, Flatpak)
	// need user namespaces, which the seccomp denylist refuses.
	// Files handed to an app must pass the file service's rules.
	return app.New(app.Config{AllowedApps: st.Owner.Services.App.AllowedApps, Log: st.Log,
		CheckFile: fileRules(st)}), nil
}

// ownerScanner returns the secret scanner: gitleaks' rules and the
// owner's redact.patterns.
func ownerScanner(st *stack.Settings) (*redact.Scanner, error) {
	if len(st.Owner.Redact.Patterns) == 0 {
		return redact.Default(), nil
	}
	sc, err := redact.New(st.Owner.Redact.Patterns)
	if err != nil {
		return nil, errs.E("redact.patterns", errs.InvalidParams, errs.Reason("bad_config"), errs.Hint("fix redact.patterns in ~/.config/gimme/local.yaml (carapace config check)"), err)
	}
	return sc, nil
}

// fileConfig maps the owner file's services.file onto the file service's
// configuration. The code service's deny_read globs are refused by the
// file service too: a secret commands may not read is not read through
// file.read either.
func fileConfig(st *stack.Settings) file.Config {
	f := st.Owner.Services.File
	var folders []file.Folder
	for _, p := range f.Paths {
		folders = append(folders, file.Folder{Path: p.Path, ReadOnly: p.ReadOnly, Deny: p.Deny, DenyWrite: p.DenyWrite, NoRedact: p.NoRedact()})
	}
	sc, _ := ownerScanner(st) // validated with the configuration
	return file.Config{Folders: folders, Deny: fileDeny(*st.Owner),
		DenyWrite: f.DenyWrite, Protect: st.OwnPaths(), MaxWrite: int64(f.MaxWrite), Home: st.OwnerHome, Redact: sc}
}

// fileDeny returns the file service's deny globs besides its defaults:
// services.file.deny and services.code.deny_read.
func fileDeny(o config.Owner) []string {
	return append(append([]string{}, o.Services.File.Deny...), o.Services.Code.DenyRead...)
}

// fileRules returns the file service's read rules (folders, deny globs),
// for app.open's files; with the file service disabled no file passes.
func fileRules(st *stack.Settings) func(string) error {
	f := st.Owner.Services.File
	if !f.Enabled {
		return nil
	}
	permits, err := file.Permits(fileConfig(st))
	if err != nil {
		return nil
	}
	return permits
}

// newFileService opens the allowed folders, then confines the process to
// them (Landlock: nothing else on disk but its socket's directory;
// seccomp: no execve, no ptrace).
func newFileService(st *stack.Settings, sockDir string, auth servicehost.Authorize) (service.Service, error) {
	svc, err := file.New(fileConfig(st), auth)
	if err != nil {
		return nil, err
	}
	rw, ro := svc.Paths()
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return nil, errs.E(errs.Failed, err)
	}
	// ConfineSelf re-executes us already confined: the re-executed image
	// must still read what start-up reads.
	ro = append(ro, readAfterConfine(st)...)
	if err := confine(sandbox.Profile{RestrictFS: true, ReadWrite: append(rw, sockDir), ReadOnly: ro}); err != nil {
		svc.Close()
		return nil, err
	}
	return svc, nil
}

// commandPolicy builds the command policy for a service from its rules.
func commandPolicy(svc string, rules []config.PolicyRule) (*policy.Policy, error) {
	rs, err := policy.Config{Policy: rules}.Rules()
	if err != nil {
		return nil, errs.E("services."+svc+".policy", errs.InvalidParams, errs.Reason("bad_config"), err)
	}
	return policy.New(append(policy.DefaultRules(svc), rs...), policy.DefaultFor(svc), lookPathIn(sandboxPath))
}

// lookPathIn resolves a program against path, not the daemon's own PATH.
func lookPathIn(path string) func(string) (string, error) {
	return func(name string) (string, error) {
		if filepath.IsAbs(name) {
			return name, nil
		}
		for _, d := range filepath.SplitList(path) {
			if p, err := exec.LookPath(filepath.Join(d, name)); err == nil {
				return p, nil
			}
		}
		return "", exec.ErrNotFound
	}
}

// confine applies a service's self-confinement where the platform has it.
func confine(p sandbox.Profile) error {
	if sandbox.ConfineSelf == nil {
		return nil // no platform sandbox: the README says what that means
	}
	if err := sandbox.ConfineSelf(p); err != nil {
		return errs.E("confine", errs.Failed, errs.Reason("confine_failed"),
			errs.Hint("the kernel refused the service's own sandbox; `carapace-installer doctor` checks Landlock and seccomp"), err)
	}
	return nil
}

// readAfterConfine lists what a confined service still reads: the
// configuration files, the user database and the issuers' keys (the Linux
// sandbox re-executes the service under its Landlock domain, which loads
// them again), the device's public key and the revocation list. Only
// existing paths: Landlock cannot name a missing one.
func readAfterConfine(st *stack.Settings) []string {
	// From the state directory only the public half of the device key and
	// the revocation list: never device.key, which in dev mode has the
	// same owner as this process. (A revocation list replaced after start
	// is a new inode Landlock does not cover; the service then keeps the
	// list it has, and the router, which checks first, sees the new one.)
	paths := []string{
		filepath.Join(st.StateDir(), "device.pub"), filepath.Join(st.StateDir(), "revoked.json"),
		st.SystemPath, st.OwnerPath,
		"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", os.Getenv("CREDENTIALS_DIRECTORY"),
	}
	for _, is := range st.System.Issuers {
		paths = append(paths, is.JWKSFile)
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
