package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/managed"
	"github.com/gimme-tools/carapace/core/ratelimit"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/scope"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// DefaultStateDir holds the device key, the revocation list, the replay
// cache and the audit log of an installed stack.
const DefaultStateDir = "/var/lib/carapace"

// StateDir returns the state directory: --state-dir, else state_dir from
// the system config, else <runtime dir>/state in dev, else
// DefaultStateDir.
func (st *Settings) StateDir() string {
	switch {
	case st.StateDirFlag != "":
		return st.StateDirFlag
	case st.System.StateDir != "":
		return st.System.StateDir
	case st.Dev:
		return filepath.Join(st.RuntimeDir, "state")
	}
	return DefaultStateDir
}

// AuditDir returns the audit log's directory: audit.path, else
// <state dir>/audit.
func (st *Settings) AuditDir() string {
	if st.System.Audit.Path != "" {
		return st.System.Audit.Path
	}
	return filepath.Join(st.StateDir(), "audit")
}

// Issuers converts the configured issuers.
func Issuers(sys *config.System) []token.Issuer {
	out := make([]token.Issuer, len(sys.Issuers))
	for i, is := range sys.Issuers {
		out[i] = token.Issuer{Issuer: is.Issuer, JWKSFile: is.JWKSFile}
	}
	return out
}

// Authz is the router's authorisation machinery, built from the settings.
type Authz struct {
	Auth *router.Auth
	key  token.DeviceKey // signs the relay assertion
	keys *token.Keyring
	rp   *token.ReplayCache
	// Managed holds the managed policy as it is now.
	Managed   *managed.Watcher
	stopWatch context.CancelFunc
	// Exports sends audit records to the system's log pipeline.
	Exports *audit.Exports
	// onManaged runs after the managed policy changed (OnManagedChange).
	onManaged atomic.Pointer[func()]
}

// OnManagedChange sets what runs after the managed policy's file changed
// (seen by the watcher, `config reload` or SIGHUP): the dev stack
// restarts its services so each reads the policy again.
func (z *Authz) OnManagedChange(f func()) { z.onManaged.Store(&f) }

// ManagedPoll is how often the router looks at the managed policy file.
const ManagedPoll = 2 * time.Second

// Close syncs and closes the audit log and the replay cache.
func (z *Authz) Close() {
	if z.stopWatch != nil {
		z.stopWatch()
	}
	if z.Auth.Audit != nil {
		z.Auth.Audit.Close()
	}
	z.Exports.Close(5 * time.Second) // after the log: nothing more comes
	z.rp.Close()
}

// NewKeyStore returns where the device key lives for a state directory:
// a 0600 file by default; the macOS build sets the Keychain (device.pub
// still goes to dir, for the services).
var NewKeyStore = func(dir string) token.KeyStore { return token.FileKeyStore{Dir: dir} }

// NewAuthz opens (creating at first start) the device key, the revocation
// list, the replay cache and the audit log in the state directory, loads
// the issuers' keys, and sets the limits and what the owner may mint.
func NewAuthz(st *Settings) (*Authz, error) {
	dir := st.StateDir()
	op := "state dir " + dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, errs.E(op, errs.Failed, errs.Hint("set state_dir in the system config to a directory the router can create"), err)
	}
	key, created, err := token.LoadOrCreate(NewKeyStore(dir))
	if err != nil {
		return nil, errs.E(op, errs.Failed, errs.ReasonDeviceKey, errs.Hint("check "+filepath.Join(dir, "device.key")+": mode 0600, owned by the router's user"), err)
	}
	if created {
		st.log().Info("made this device's key", "device_id", key.ID, "dir", dir)
	}
	keys, kerr := token.NewKeyring(Issuers(st.System))
	if kerr != nil {
		st.log().Warn("issuer keys", "err", kerr) // those issuers' tokens are refused until fixed
	}
	z := &Authz{keys: keys, key: key}
	rev, err := token.OpenRevocations(filepath.Join(dir, "revoked.json"))
	if err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	if z.rp, err = token.NewReplayCache(filepath.Join(dir, "replay.log"), 0); err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	issued, err := token.OpenIssued(filepath.Join(dir, "issued.json"))
	if err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	v, err := token.NewVerifier(token.Config{Device: key.Public(), Issuers: keys, Home: st.OwnerHome, Revoked: rev, Replay: z.rp})
	if err != nil {
		return nil, errs.E(op, errs.Failed, err)
	}
	grants, err := Grants(st.Owner)
	if err != nil {
		return nil, err
	}
	z.Auth = &router.Auth{
		Verifier: v, Minter: token.NewMinter(key, st.OwnerHome), Revoked: rev, Issued: issued,
		Limiter: ratelimit.New(RateLimits(st.System.Rate)), Grants: grants, Home: st.OwnerHome,
		MaxTTL: st.System.Tokens.MaxTTL.D(), Reload: z.reload(st),
	}
	z.watchManaged(st)
	if !st.System.Audit.Disabled {
		if z.Exports, err = st.exports(); err != nil {
			z.stopWatch()
			z.rp.Close()
			return nil, err
		}
		if z.Auth.Audit, err = openAudit(st, z.Exports, key); err != nil {
			z.stopWatch()
			z.Exports.Close(0)
			z.rp.Close()
			return nil, err
		}
	}
	return z, nil
}

// reload re-reads the system file's issuer list (when there is a file),
// every issuer's keys and the managed policy; an invalid policy is
// reported (it already stops what it governs).
func (z *Authz) reload(st *Settings) func() error {
	return func() error {
		var err error
		if st.SystemPath == "" {
			err = z.keys.Reload()
		} else if sys, lerr := config.LoadSystem(st.SystemPath, true); lerr != nil {
			err = lerr
		} else {
			err = z.keys.Set(Issuers(sys))
		}
		if z.Managed != nil {
			err = errors.Join(append([]error{err}, z.Managed.Reload().Errs()...)...)
		}
		return err
	}
}

// watchManaged makes every call answer to the managed policy as it is
// now: read again on config.reload and SIGHUP, and when its file changes.
func (z *Authz) watchManaged(st *Settings) {
	w := managed.NewWatcher(st.ManagedOverride)
	w.OnChange = func(p *managed.Policy) {
		st.log().Info("managed policy changed", "source", p.Source, "errors", len(p.Errs()))
		if f := z.onManaged.Load(); f != nil {
			(*f)()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go w.Run(ctx, ManagedPoll)
	z.Managed, z.stopWatch = w, cancel
	z.Auth.Policy = func(t *token.Verified, svc, method string, acc []router.Access) error {
		return w.Policy().Check(managed.Call{Service: svc, Method: method, Agent: t.Agent, Owner: t.Owner,
			Lifetime: managed.Lifetime(t.IssuedAt, t.Expires, time.Now()), Access: acc, Home: st.OwnerHome})
	}
}

func openAudit(st *Settings, x *audit.Exports, key token.DeviceKey) (*audit.Log, error) {
	a := st.System.Audit
	opt := audit.Options{MaxSize: int64(a.MaxSize), Export: x,
		Checkpoint: &audit.Checkpointing{Key: key.Key, KeyID: key.ID}}
	if a.Fsync == "always" {
		opt.Sync = audit.SyncAlways
	}
	l, err := audit.Open(st.AuditDir(), opt)
	if err != nil {
		return nil, errs.E("audit log "+st.AuditDir(), errs.Unavailable, errs.ReasonAuditUnavailable,
			errs.Hint("set audit.path in the system config to a directory the router can write"), err)
	}
	if l.TornBytes > 0 {
		st.log().Warn("audit log: cut an incomplete last line (a crash mid-write)", "bytes", l.TornBytes)
	}
	return l, nil
}

// RateLimits converts rate_limits: 0 takes the default, a negative rate
// turns a limit off.
func RateLimits(r config.RateLimit) ratelimit.Limits {
	return ratelimit.Limits{
		PerUID: r.PerUID, PerUIDBurst: r.Burst,
		PerSubject: r.PerSubject, SubjectBurst: r.Burst,
		ConnsPerSec: r.ConnsPerSecond,
	}
}

// Grants returns, per audience of an enabled service, the widest scope the
// owner may mint: file: GET, PUT and DELETE under each folder (GET only
// under a read-only one); code: POST under each project root, and scratch
// commands; shell: POST anywhere (each command is approved anyway); app:
// POST on each allowed app.
func Grants(o *config.Owner) (map[string]scope.Set, error) {
	g := map[string]scope.Set{}
	s := o.Services
	add := func(aud string, set scope.Set, err error) error {
		if err != nil {
			return errs.E("owner config", errs.InvalidParams, errs.ReasonBadConfig, err)
		}
		g[aud] = append(g[aud], set...)
		return nil
	}
	if s.File.Enabled {
		var rw, ro []string
		for _, f := range s.File.Paths {
			if f.ReadOnly {
				ro = append(ro, f.Path)
			} else {
				rw = append(rw, f.Path)
			}
		}
		set, err := scope.Subtrees(token.AudFile, []string{scope.GET, scope.PUT, scope.DELETE}, rw, "")
		if err := add(token.AudFile, set, err); err != nil {
			return nil, err
		}
		set, err = scope.Subtrees(token.AudFile, []string{scope.GET}, ro, "")
		if err := add(token.AudFile, set, err); err != nil {
			return nil, err
		}
	}
	if s.Code.Enabled {
		set, err := scope.Subtrees(token.AudCode, []string{scope.POST}, s.Code.ProjectRoots, "")
		if err := add(token.AudCode, set, err); err != nil {
			return nil, err
		}
		e, err := scope.Parse(scope.POST+":"+token.AudCode+service.CodeScratch, token.AudCode, "")
		if err := add(token.AudCode, scope.Set{e}, err); err != nil {
			return nil, err
		}
	}
	if s.Shell.Enabled {
		set, err := scope.Subtrees(token.AudShell, []string{scope.POST}, []string{"/"}, "")
		if err := add(token.AudShell, set, err); err != nil {
			return nil, err
		}
	}
	if s.App.Enabled {
		g[token.AudApp] = scope.Set{}
		for _, app := range s.App.AllowedApps {
			e, err := scope.Parse(scope.POST+":"+token.AudApp+"/"+app, token.AudApp, "")
			if err != nil {
				return nil, errs.E("owner config", errs.InvalidParams, errs.ReasonBadConfig,
					errs.Hint("an app id in services.app.allowed_apps cannot contain / or *"), err)
			}
			g[token.AudApp] = append(g[token.AudApp], e)
		}
	}
	return g, nil
}

// OwnPaths are the directories that hold Carapace's own policy and
// state: the owner file's and the system file's folders, the state
// directory and the audit log's. A command or a file-service token must
// never change them (core/autorun has the files of other tools); the
// code service protects them and the file service refuses writes there.
func (st *Settings) OwnPaths() []string {
	var out []string
	for _, p := range []string{st.OwnerPath, st.SystemPath} {
		if p != "" {
			out = append(out, filepath.Dir(p))
		}
	}
	out = append(out, st.StateDir(), st.AuditDir())
	for i, p := range out {
		if a, err := filepath.Abs(p); err == nil {
			out[i] = a
		}
	}
	return out
}
