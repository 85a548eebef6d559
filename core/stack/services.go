package stack

import (
	"crypto/x509"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/sandbox"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/service/app"
	"github.com/gimme-tools/carapace/core/service/code"
	"github.com/gimme-tools/carapace/core/service/file"
	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/token"
)

// SandboxPath is the PATH sandboxed commands see and policy rules resolve
// programs against.
const SandboxPath = "/usr/local/bin:/usr/bin:/bin"

// NewService builds a service's implementation from the settings and
// confines the process to what that service needs, before it serves
// (`carapace serve NAME`). Whatever of the service runs without the OS's
// confinement (Unconfined) is logged first: never silently.
func NewService(name string, st *Settings, sockDir string, auth service.Authorize) (service.Service, error) {
	build, ok := builders[name]
	if !ok {
		return nil, errs.E(errs.InvalidParams, errs.ReasonUnknownService,
			errs.Hint("services are: "+strings.Join(service.Names(), ", ")))
	}
	if why := Unconfined(name, st.Owner); why != "" {
		st.log().Warn("service runs unconfined", "service", name, "why", why)
	}
	return build(st, sockDir, auth)
}

// ServiceAuthorizer builds the named service's own token check from the
// state directory (the device's public key, the revocation list) and the
// issuers, read-only. Call it before NewService: it reads the keys
// before the service confines itself.
func ServiceAuthorizer(name string, st *Settings) (service.Authorize, error) {
	aud, err := token.AudienceFor(name)
	if err != nil {
		return nil, errs.E(errs.InvalidParams, errs.ReasonUnknownService, errs.Hint("services are: "+strings.Join(service.Names(), ", ")), err)
	}
	return servicehost.NewAuthorizer(servicehost.AuthorizerConfig{
		StateDir: st.StateDir(), Home: st.OwnerHome, Issuers: Issuers(st.System), Audience: aud,
	})
}

// builders builds each service in service.Registry (a test checks there is
// one for each).
var builders = map[string]func(st *Settings, sockDir string, auth service.Authorize) (service.Service, error){
	"file":  newFileService,
	"code":  newCodeService,
	"shell": newShellService,
	"app":   newAppService,
}

// networkRules returns the owner's network rules for a directory, within
// the system file's cap when it sets one.
func networkRules(st *Settings) func(dir string) egress.Rules {
	owner := st.Owner.Services.Code.Network
	if st.System == nil {
		return owner.RulesFor
	}
	cap, ok := st.System.Services.Code.NetworkCap()
	if !ok {
		return owner.RulesFor
	}
	return func(dir string) egress.Rules { return owner.RulesFor(dir).Within(cap) }
}

func newCodeService(st *Settings, _ string, auth service.Authorize) (service.Service, error) {
	c := st.Owner.Services.Code
	pol, err := CommandPolicy("code", c.Policy)
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
	if os.Geteuid() == 0 && sandbox.ServiceCgroup != nil {
		sandbox.ServiceCgroup(4 * procs)
	}
	// The proxy verifies route upstreams against the system's roots,
	// which crypto/x509 reads once, at first use: now, while the files
	// are still readable to the service.
	if len(c.Network.Routes) > 0 {
		x509.SystemCertPool()
	}
	// Credential routes' secrets are read from the service's store
	// (routes.go), again each time the owner changes one.
	store, serr := routeStore(st)
	routes, routePatterns := credentialRoutes(st, store, serr)
	// The helper protects .git in a mount namespace; with network rules
	// the service starts the egress proxy's process, which dials out
	// for its commands (core/egress) under the filter it inherits.
	if err := confine(sandbox.Profile{Exec: true, Namespaces: true, Network: c.Network.Any()}); err != nil {
		return nil, err
	}
	sc, err := ownerScanner(st, routePatterns...)
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
		Network:        networkRules(st),
		Routes:         routes,
		EgressSocket:   ServiceSocket(st.RuntimeDir, "egress"),
		Secrets:        routeSecrets(st, store),
		DefaultTimeout: c.Timeout.D(),
		MaxTimeout:     c.MaxTimeout.D(),
		MaxOutput:      int(c.MaxOutput),
		Path:           SandboxPath,
		Limits: sandbox.Limits{
			Procs: int64(c.Limits.Processes), OpenFiles: int64(c.Limits.OpenFiles),
			FileSize: int64(c.Limits.FileSize), CPUSeconds: int64(c.Limits.CPU.D().Seconds()),
			AddressSpace: int64(c.Limits.Memory),
		},
		AllowUnsandboxed: c.Sandbox == "off",
		Unconfined:       Unconfined("code", st.Owner),
		Protect:          st.OwnPaths(),
		WarmHelpers:      c.WarmHelpers,
		Policy:           pol,
		Redact:           sc,
		NoRedact:         noRedact,
		DenyRead:         append(append([]string(nil), c.DenyRead...), secret.DenyGlob),
		ProjectDenyRead:  projectDeny,
		Authorize:        auth,
	}), nil
}

// shell and app (issue 6) run as the owner, without Landlock; see
// docs/shellapp.md.
func newShellService(st *Settings, _ string, _ service.Authorize) (service.Service, error) {
	c := st.Owner.Services.Shell
	pol, err := CommandPolicy("shell", c.Policy)
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
		GrantsFile: shellGrantsFile(st), Desktop: desktopNotifier(st.Log), RequireHuman: st.Managed.Shell.RequireHuman}
	// The managed policy's shell.require_human: a person decides every
	// command, so no reviewer command is asked (remembered approvals:
	// docs/fleet.md).
	if c.Reviewer != "" && !st.Managed.Shell.RequireHuman {
		cfg.Reviewer = &shell.Reviewer{Path: c.Reviewer, Args: c.ReviewerArgs, Timeout: c.ReviewerTimeout.D(),
			Env: []string{"PATH=" + SandboxPath, "HOME=" + st.OwnerHome}, Log: st.Log}
	}
	return shell.New(cfg)
}

// shellGrantsFile is where the shell service keeps remembered approvals:
// the owner's own state, since the service runs as the owner — the dev
// stack's state directory, else $XDG_STATE_HOME/carapace (default
// ~/.local/state/carapace).
func shellGrantsFile(st *Settings) string {
	const name = "shell-grants.json"
	if st.Dev || st.StateDirFlag != "" {
		return filepath.Join(st.StateDir(), name)
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "carapace", name)
	}
	return filepath.Join(st.OwnerHome, ".local", "state", "carapace", name)
}

// Desktop, set by the platform's part of cmd/carapace, shows approval
// requests the owner can answer without a terminal (freedesktop
// notifications, the macOS menu-bar app); nil, or a nil result: none.
var Desktop func(*slog.Logger) shell.Desktop

func desktopNotifier(log *slog.Logger) shell.Desktop {
	if Desktop == nil {
		return nil
	}
	return Desktop(log)
}

func newAppService(st *Settings, _ string, _ service.Authorize) (service.Service, error) {
	// Not confined (Unconfined says why); files handed to an app must
	// pass the file service's rules.
	return app.New(app.Config{AllowedApps: st.Owner.Services.App.AllowedApps, Log: st.Log,
		CheckFile: fileRules(st)}), nil
}

// ownerScanner returns the secret scanner: gitleaks' rules and the
// owner's redact.patterns.
func ownerScanner(st *Settings, more ...redact.Pattern) (*redact.Scanner, error) {
	if len(st.Owner.Redact.Patterns)+len(more) == 0 {
		return redact.Default(), nil
	}
	sc, err := redact.New(append(append([]redact.Pattern(nil), st.Owner.Redact.Patterns...), more...))
	if err != nil {
		return nil, errs.E("redact.patterns", errs.InvalidParams, errs.ReasonBadConfig, errs.Hint("fix redact.patterns in ~/.config/gimme/local.yaml (carapace config check)"), err)
	}
	return sc, nil
}

// fileConfig maps the owner file's services.file onto the file service's
// configuration. The code service's deny_read globs are refused by the
// file service too: a secret commands may not read is not read through
// file.read either.
func fileConfig(st *Settings) file.Config {
	f := st.Owner.Services.File
	var folders []file.Folder
	for _, p := range f.Paths {
		folders = append(folders, file.Folder{Path: p.Path, ReadOnly: p.ReadOnly, Deny: p.Deny, DenyWrite: p.DenyWrite, NoRedact: p.NoRedact()})
	}
	sc, _ := ownerScanner(st) // validated with the configuration
	return file.Config{Folders: folders, Deny: FileDeny(*st.Owner),
		DenyWrite: f.DenyWrite, Protect: st.OwnPaths(), MaxWrite: int64(f.MaxWrite), Home: st.OwnerHome, Redact: sc}
}

// FileDeny returns the file service's deny globs besides its defaults:
// services.file.deny, services.code.deny_read and the secret store's
// directory.
func FileDeny(o config.Owner) []string {
	return append(append(append([]string{}, o.Services.File.Deny...), o.Services.Code.DenyRead...), secret.DenyGlob)
}

// fileRules returns the file service's read rules (folders, deny globs),
// for app.open's files; with the file service disabled no file passes.
func fileRules(st *Settings) func(string) error {
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
func newFileService(st *Settings, sockDir string, auth service.Authorize) (service.Service, error) {
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

// CommandPolicy builds the command policy for a service from its rules.
func CommandPolicy(svc string, rules []config.PolicyRule) (*policy.Policy, error) {
	rs, err := policy.Config{Policy: rules}.Rules()
	if err != nil {
		return nil, errs.E("services."+svc+".policy", errs.InvalidParams, errs.ReasonBadConfig, err)
	}
	return policy.New(append(policy.DefaultRules(svc), rs...), policy.DefaultFor(svc), lookPathIn(SandboxPath))
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
