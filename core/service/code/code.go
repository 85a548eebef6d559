// Package code is the code service: it runs commands for an agent inside a
// configured project root, each in a new session and process group, with a
// deadline and capped output. The OS sandbox around each command is
// applied by core/sandbox's hook (a re-executed `carapace sandbox-exec`
// helper) when the platform provides one; where it can, the service keeps
// one helper started ahead of the next command (core/sandbox.Warm).
//
// The secrets in a project (core/denyread's globs) are masked from each
// command, found by the same walk that finds the files the owner's tools
// run; what a command prints reaches every caller but the owner's own CLI
// with its secrets replaced (core/redact), streamed chunks included.
package code

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/autorun"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/sandbox"
	"github.com/gimme-tools/carapace/core/service"
)

// Config configures the code service.
type Config struct {
	// ProjectRoots are the absolute directories commands may run in.
	ProjectRoots []string
	// DefaultTimeout applies when a call gives none (default 60s);
	// MaxTimeout caps what a call may ask for (default 1h).
	DefaultTimeout, MaxTimeout time.Duration
	// MaxOutput caps each output stream (default 1 MiB).
	MaxOutput int
	// Path is the PATH commands see (default /usr/local/bin:/usr/bin:/bin).
	Path string
	// Network returns the hosts commands in a directory may reach
	// (services.code.network). Rules that allow nothing, or a nil
	// Network, leave commands without network: sockets limited to
	// AF_UNIX. Otherwise a command runs in a network namespace of its
	// own whose one way out is the proxy (core/egress) applying these
	// rules; "*" included: there is no unfiltered network.
	Network func(dir string) egress.Rules
	// Routes are the owner's credential routes (services.code.network.
	// routes), their secrets filled in: a command with them gets the
	// proxy even where no host is allowed, and asks it for
	// /<route>/… (core/egress.Route). Their secrets belong in Redact.
	Routes *egress.Routes
	// EgressSocket is where the installed stack's proxy unit listens
	// (carapace-egress.socket): where it exists the service connects to
	// it rather than start the proxy's process (core/egress.Runner).
	EgressSocket string
	// Secrets, when set, keeps the routes' secrets and rebuilds Routes
	// and Redact when the owner changes one (code.secrets.*,
	// secrets.go).
	Secrets *RouteSecrets
	// Limits are the sandbox's resource limits (zero: the defaults).
	Limits sandbox.Limits
	// AllowUnsandboxed lets commands run without a sandbox where this
	// platform has none (services.code.sandbox: off); it never weakens an
	// available one. Never the default.
	AllowUnsandboxed bool
	// Unconfined says what of this service runs without the OS's
	// confinement, and why (stack.Unconfined); "" when nothing does.
	// code.info reports it.
	Unconfined string
	// Policy decides which commands may run; nil allows all.
	Policy *policy.Policy
	// WarmHelpers is how many fresh sandbox helpers are kept started
	// ahead of the next commands (core/sandbox.Warm), so that that many
	// commands arriving together do not each wait for a helper's start;
	// helpers that ran a command may also wait for the next of its kind
	// (at most WarmHelpers + max(2, CPUs) of them). Each waiting helper
	// holds about 3 MB of memory. 0 means DefaultWarmHelpers; -1 turns
	// warm helpers off.
	WarmHelpers int
	// Protect are more paths a command must not change when they lie in
	// its working directory: Carapace's own configuration and state.
	Protect []string
	// Redact finds the secrets replaced in commands' output (stdout,
	// stderr, streamed chunks) for every caller but the owner's own CLI
	// (service.RawReader); nil is redact.Default(). NoRedact are project
	// directories whose output is left as it is (redact: false).
	Redact   *redact.Scanner
	NoRedact []string
	// DenyRead are globs (core/denyread) of names a command may not read
	// inside its project, added to denyread.Default; ProjectDenyRead adds
	// more for single project directories (and what lies below them).
	// Every match is masked in the command's mount namespace.
	DenyRead        []string
	ProjectDenyRead map[string][]string
	// Authorize re-checks the forwarded token (servicehost.NewAuthorizer):
	// POST on the working directory, or on service.CodeScratch. Nil refuses
	// every command: the service never runs one unchecked.
	Authorize service.Authorize
}

// DefaultWarmHelpers is how many fresh helpers wait by default: two
// cover a command and the one right behind it; a burst beyond that is
// served by helpers that finish a command of its kind and take the next,
// and by a few started for it (codeexec.Pool; docs/sandbox.md has the
// measurements).
const DefaultWarmHelpers = 2

// Service is the code service.
type Service struct {
	cfg Config
	// pool keeps sandbox helpers started ahead of the next commands
	// (core/sandbox.Warm), where the platform has one.
	pool *codeexec.Pool
	// egress runs the proxy process that serves commands' network
	// (core/egress.Runner); set with pool. asks holds the connections
	// waiting for the owner (ask mode, approvals.go).
	egress *egress.Runner
	asks   *approval.Queue
	// denyRead is the matcher for commands in no ProjectDenyRead
	// project; projects holds those projects' own, longest path first.
	denyRead *denyread.Matcher
	projects []projectDeny
	denyErr  error // a glob that did not compile: no command runs
	// index keeps each working directory's walk (executed paths, masked
	// secrets) up to date with inotify, so a command's start does not
	// walk its tree (core/autorun.Index).
	index *autorun.Index
	// live holds the routes and output scanner in force: Config's at
	// start, rebuilt when the owner changes a secret (secrets.go).
	live live
}

type projectDeny struct {
	dir string
	m   *denyread.Matcher
}

// New returns the code service. A deny_read glob core/denyread cannot
// compile (the configuration check refuses it first) makes every command
// fail rather than run with its secrets readable.
func New(cfg Config) *Service {
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 60 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = time.Hour
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = codeexec.DefaultMaxOutput
	}
	if cfg.Path == "" {
		cfg.Path = "/usr/local/bin:/usr/bin:/bin"
	}
	for i, r := range cfg.ProjectRoots {
		cfg.ProjectRoots[i] = filepath.Clean(r)
	}
	if cfg.Redact == nil {
		cfg.Redact = redact.Default()
	}
	if cfg.WarmHelpers == 0 {
		cfg.WarmHelpers = DefaultWarmHelpers
	}
	s := &Service{cfg: cfg, asks: approval.New(approval.Options{}), index: &autorun.Index{Logf: func(format string, args ...any) {
		log.Printf("code: deny_read and executed-path index: "+format, args...)
	}}}
	s.live.set(cfg.Routes, cfg.Redact)
	var err error
	global := append(append([]string(nil), denyread.Default...), cfg.DenyRead...)
	if s.denyRead, err = denyread.New(global); err != nil {
		s.denyErr = fmt.Errorf("services.code.deny_read: %w", err)
	}
	for dir, globs := range cfg.ProjectDenyRead {
		m, err := denyread.New(append(append([]string(nil), global...), globs...))
		if err != nil {
			s.denyErr = fmt.Errorf("services.code.projects: %s: deny_read: %w", dir, err)
		}
		s.projects = append(s.projects, projectDeny{dir: filepath.Clean(dir), m: m})
	}
	sort.Slice(s.projects, func(i, j int) bool { return len(s.projects[i].dir) > len(s.projects[j].dir) })
	if _, ok := sandbox.Available(); ok && sandbox.Warm != nil && cfg.WarmHelpers > 0 {
		if ws, err := sandbox.Warm(); err == nil {
			s.pool = codeexec.NewPool(ws.Argv, codeexec.PoolOptions{Size: cfg.WarmHelpers, Attr: ws.Attr, Fallback: ws.Fallback})
			if s.egress, _ = egress.NewRunner(); s.egress != nil {
				s.egress.Socket = cfg.EgressSocket
			}
		}
	}
	return s
}

// denyReadFor returns the deny_read matcher for commands run in dir.
func (s *Service) denyReadFor(dir string) *denyread.Matcher {
	for _, p := range s.projects {
		if within(p.dir, dir) {
			return p.m
		}
	}
	return s.denyRead
}

// Close kills the sandbox helpers kept waiting for the next commands and
// ends the egress proxy's process.
// Commands already running are not touched. (A waiting helper also exits
// by itself when the service's process ends.)
func (s *Service) Close() error {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.egress != nil {
		s.egress.Close()
	}
	return nil
}

// Name implements service.Service.
func (s *Service) Name() string { return "code" }

// Methods implements service.Service.
func (s *Service) Methods() map[string]service.Handler {
	return map[string]service.Handler{
		"code.execute":          s.execute,
		"code.info":             s.info,
		"code.approvals.list":   s.approvalsList,
		"code.approvals.decide": s.approvalsDecide,
		"code.approvals.grants": s.approvalsGrants,
		"code.approvals.revoke": s.approvalsRevoke,
		"code.secrets.list":     s.secretsList,
		"code.secrets.remove":   s.secretsRemove,
		"code.secrets.set":      s.secretsSet,
	}
}

// ExecuteParams are code.execute's params.
type ExecuteParams struct {
	Command   string            `json:"command"`
	Args      []string          `json:"args"`
	Cwd       string            `json:"cwd"`
	Env       map[string]string `json:"env"`
	Stdin     string            `json:"stdin"`
	StdinB64  string            `json:"stdin_base64"`
	TimeoutMS int64             `json:"timeout_ms"`
	// Stream asks for output as code.output notifications while the
	// command runs, besides the final result.
	Stream bool `json:"stream"`
}

func (s *Service) execute(ctx context.Context, call *service.Call) (any, error) {
	const op = "code.execute"
	var p ExecuteParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if p.Command == "" {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonMissingCommand,
			errs.Hint(`give the program to run: {"command": "ls", "args": ["-la"]}`))
	}
	if strings.ContainsRune(p.Command, 0) || anyNUL(p.Args) {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonNULByte, errs.Hint("arguments cannot contain NUL bytes"))
	}
	if err := s.authorize(call, p.Cwd); err != nil {
		return nil, err
	}
	dir, lexical, cleanup, err := s.workdir(p.Cwd)
	if err != nil {
		return nil, errs.E(op, err)
	}
	defer cleanup()
	if lexical != "" && lexical != filepath.Clean(p.Cwd) {
		// The cwd leads elsewhere through a symlink: the token must
		// cover where the command really runs, too.
		if err := s.authorize(call, lexical); err != nil {
			return nil, err
		}
	}
	path, err := s.lookPath(p.Command, dir)
	if err != nil {
		return nil, errs.E(op, err)
	}
	if err := s.checkPolicy(op, append([]string{path}, p.Args...)); err != nil {
		return nil, err
	}
	rules := s.commandRules(call, dir)
	argv, env, before, cleanTmp, reuse, err := s.sandboxed(append([]string{path}, p.Args...), dir, p.Env, rules)
	if err != nil {
		return nil, errs.E(op, err)
	}
	defer cleanTmp()
	stdin, err := stdinBytes(p)
	if err != nil {
		return nil, errs.E(op, err)
	}
	timeout := s.cfg.DefaultTimeout
	if p.TimeoutMS > 0 {
		timeout = min(time.Duration(p.TimeoutMS)*time.Millisecond, s.cfg.MaxTimeout)
	}
	c := codeexec.Command{
		Path: argv[0], Args: argv, Dir: dir, Env: env, Stdin: stdin,
		Timeout: timeout, MaxOutput: s.cfg.MaxOutput, Grace: 2 * time.Second,
	}
	var ns *netSession
	if s.pool != nil && len(argv) > 2 && argv[1] == "sandbox-exec" {
		// A warm helper takes the same words, and the rest, as a request.
		c.Pool = s.pool
		c.Request = sandbox.Request{Args: argv[2:], Env: env, Dir: dir, Stdin: stdin != nil}.Encode()
		c.Kind = helperKind(call.Caller, reuse)
		if s.networkWith(rules) {
			routes, _ := s.live.get()
			ns = newNetSession(call, s.egress, rules, routes)
			ns.ask = func(t egress.Target) (bool, string) { return s.askOwner(ctx, call, dir, t) }
			c.Egress = ns.serve
		}
	}
	sc := s.redactor(call, dir)
	var streams map[string]*redact.Stream
	if p.Stream && call.Notify != nil {
		notify := func(stream string) func([]byte) {
			return func(b []byte) { call.Notify("code.output", map[string]string{"stream": stream, "data": string(b)}) }
		}
		c.OnOutput = func(stream string, b []byte) { notify(stream)(b) }
		if sc != nil {
			// One stream each: stdout's and stderr's chunks come from
			// two goroutines, each stream's in order.
			streams = map[string]*redact.Stream{"stdout": sc.NewStream(notify("stdout")), "stderr": sc.NewStream(notify("stderr"))}
			c.OnOutput = func(stream string, b []byte) { streams[stream].Write(b) }
		}
	}
	res, err := codeexec.Run(ctx, c)
	if ns != nil {
		ns.wait(res) // every connection recorded before the answer
	}
	if err != nil {
		for _, st := range streams {
			st.Close()
		}
		return nil, err
	}
	for name, st := range streams {
		if out := map[string]string{"stdout": res.Stdout, "stderr": res.Stderr}[name]; len(out) >= s.cfg.MaxOutput {
			st.Discard() // cut at the cap: its last line may hold a secret's start
			continue
		}
		st.Close()
	}
	if err := s.redactResult(call, op, sc, res); err != nil {
		return nil, err
	}
	return res, s.quarantine(op, dir, before, res)
}

// redactor returns the scanner for call's output in dir, or nil when it
// is left as it is: the owner's own CLI, or a project with redact: false.
func (s *Service) redactor(call *service.Call, dir string) *redact.Scanner {
	if service.RawReader(call) {
		return nil
	}
	for _, p := range s.cfg.NoRedact {
		if within(p, dir) {
			return nil
		}
	}
	_, sc := s.live.get()
	return sc
}

// redactResult replaces the secrets in res's output and records how many
// of each rule in the audit log.
func (s *Service) redactResult(call *service.Call, op string, sc *redact.Scanner, res *codeexec.Result) error {
	if sc == nil {
		return nil
	}
	counts := redact.Counts{}
	for _, out := range []*string{&res.Stdout, &res.Stderr} {
		if len(*out) >= s.cfg.MaxOutput {
			*out = redact.DropCut(*out) // a secret cut by the cap is not recognizable
		}
		var c redact.Counts
		*out, c = sc.RedactString(*out)
		counts.Add(c)
	}
	if err := service.Redacted(call, counts); err != nil {
		return errs.E(op, errs.Failed, errs.ReasonAudit, errs.Hint("the command ran, but the redactions in its output could not be recorded; its output is withheld"), err)
	}
	return nil
}

func anyNUL(ss []string) bool {
	for _, s := range ss {
		if strings.ContainsRune(s, 0) {
			return true
		}
	}
	return false
}

func stdinBytes(p ExecuteParams) ([]byte, error) {
	switch {
	case p.StdinB64 != "":
		b, err := base64.StdEncoding.DecodeString(p.StdinB64)
		if err != nil {
			return nil, errs.E(errs.InvalidParams, errs.ReasonBadStdin, errs.Hint("stdin_base64 must be standard base64"), err)
		}
		return b, nil
	case p.Stdin != "":
		return []byte(p.Stdin), nil
	}
	return nil, nil
}

// authorize checks the forwarded token for POST on the working
// directory, or on service.CodeScratch when there is none.
func (s *Service) authorize(call *service.Call, cwd string) error {
	if s.cfg.Authorize == nil {
		return service.NoAuthorizer(call.Method, "code")
	}
	if cwd == "" {
		cwd = service.CodeScratch
	}
	return s.cfg.Authorize(call, "POST", cwd)
}

// workdir returns the directory to run in and its lexical form: the same
// directory named under its configured project root, symlinks inside the
// root resolved, which is what a token's scope must cover. A cwd must lie
// inside a project root (compared after resolving symlinks, so a link
// inside a root cannot lead out). With no cwd the command runs in a fresh
// scratch directory that is removed afterwards (lexical is "").
func (s *Service) workdir(cwd string) (dir, lexical string, cleanup func(), err error) {
	if cwd == "" {
		d, err := os.MkdirTemp("", "carapace-scratch-")
		if err != nil {
			return "", "", nil, errs.E(errs.Failed, err)
		}
		return d, "", func() { os.RemoveAll(d) }, nil
	}
	if !filepath.IsAbs(cwd) {
		return "", "", nil, errs.E(errs.InvalidParams, errs.ReasonRelativeCwd, errs.Hint("cwd must be an absolute path"))
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(cwd))
	if err != nil {
		return "", "", nil, errs.E(errs.NotFound, errs.ReasonNoCwd, errs.Hint("the working directory "+cwd+" does not exist"), err)
	}
	for _, root := range s.cfg.ProjectRoots {
		rr, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		if within(rr, real) {
			rel, err := filepath.Rel(rr, real)
			if err != nil {
				continue
			}
			return real, filepath.Join(root, rel), func() {}, nil
		}
	}
	return "", "", nil, errs.E(errs.Forbidden, errs.ReasonOutsideProjectRoots,
		errs.Hint("cwd "+cwd+" is not inside a project root; add it to services.code.project_roots in ~/.config/gimme/local.yaml"))
}

// within reports whether path is root or below it.
func within(root, path string) bool {
	if root == "/" {
		return true
	}
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// lookPath resolves the program against the sandbox PATH (never the
// daemon's own), or checks an explicit path.
func (s *Service) lookPath(cmd, dir string) (string, error) {
	if strings.Contains(cmd, "/") {
		p := cmd
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p, nil
	}
	for _, d := range filepath.SplitList(s.cfg.Path) {
		p := filepath.Join(d, cmd)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errs.E(errs.NotFound, errs.ReasonNoProgram,
		errs.Hint("no program "+cmd+" on the sandbox PATH ("+s.cfg.Path+")"), exec.ErrNotFound)
}

func (s *Service) info(context.Context, *service.Call) (any, error) {
	abi, ok := sandbox.Available()
	res := map[string]any{
		"sandbox":            map[string]any{"available": ok, "landlock_abi": abi, "off": s.cfg.AllowUnsandboxed},
		"confined":           s.cfg.Unconfined == "",
		"project_roots":      s.cfg.ProjectRoots,
		"default_timeout_ms": s.cfg.DefaultTimeout.Milliseconds(),
		"max_timeout_ms":     s.cfg.MaxTimeout.Milliseconds(),
		"max_output_bytes":   s.cfg.MaxOutput,
		"path":               s.cfg.Path,
	}
	if s.cfg.Unconfined != "" {
		res["unconfined"] = s.cfg.Unconfined
	}
	return res, nil
}
