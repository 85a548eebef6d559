package code

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/autorun"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/sandbox"
	"github.com/gimme-tools/carapace/core/service"
	"github.com/gimme-tools/carapace/core/token"
)

// checkPolicy applies the command policy to argv. A forbidden command is
// -32003 with the rule's reason; a command the policy wants the owner to
// approve is refused until the approval queue can take it.
func (s *Service) checkPolicy(op string, argv []string) error {
	if s.cfg.Policy == nil {
		return nil
	}
	r := s.cfg.Policy.Check(argv)
	switch r.Decision {
	case policy.Forbidden:
		return r.Err(op)
	case policy.Prompt:
		return errs.E(op, errs.Denied, errs.ReasonApprovalRequired,
			errs.Hint("the command policy asks the owner to approve "+r.Program+" ("+r.Reason+"); code commands cannot wait for approval: run it through the shell service, or change the rule in services.code.policy"))
	}
	return nil
}

// sandboxed returns the command line that runs argv in dir under the OS
// sandbox, the environment it gets, the executed paths found in dir
// (made read-only for the command; quarantine compares against them),
// a cleanup for its private temporary directory, and what a helper that
// ran it keeps for the next command (sandbox.Spec.ReuseKey; "" when it
// must run no other). Without a sandbox it refuses, unless the owner
// turned the sandbox off in the config.
func (s *Service) sandboxed(argv []string, dir string, env map[string]string, rules egress.Rules) (wrapped, cmdEnv []string, before *autorun.Found, cleanup func(), reuse string, err error) {
	// One walk finds both the files the owner's tools run (made
	// read-only) and the secrets the command may not read (masked).
	if s.denyErr != nil {
		return nil, nil, nil, nil, "", errs.E(errs.Unavailable, errs.ReasonBadConfig,
			errs.Hint("fix services.code.deny_read in ~/.config/gimme/local.yaml (carapace config check)"), s.denyErr)
	}
	deny := s.denyReadFor(dir)
	found, err := s.index.Find(dir, deny, maskWith(deny))
	if errors.Is(err, autorun.ErrTooLarge) {
		return nil, nil, nil, nil, "", errs.E(errs.Failed, errs.ReasonTreeTooLarge,
			errs.Hint("the working directory holds too many files, repositories or deny_read matches (node_modules aside) to protect their git hooks, the other files your tools run and its secrets; run the command in a smaller directory, e.g. one project"), err)
	}
	if err != nil {
		return nil, nil, nil, nil, "", errs.E(errs.Failed, errs.ReasonSandboxSetup, err)
	}
	tmp, err := os.MkdirTemp("", "carapace-tmp-")
	if err != nil {
		return nil, nil, nil, nil, "", errs.E(errs.Failed, err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	spec := sandbox.ForProject(dir, tmp)
	spec.Protected = append([]string(nil), found.Protect...) // ForProject's <dir>/.git corners among them
	for _, p := range s.cfg.Protect {
		if autorun.Within(dir, p) {
			spec.Protected = append(spec.Protected, p)
		}
	}
	spec.Masked = append([]string(nil), found.Masked...) // found is the index's, shared
	if s.networkWith(rules) {
		spec.Network, spec.Egress = true, true
	}
	spec.Limits = s.cfg.Limits
	wrapped, err = sandbox.Command(spec, argv)
	if errors.Is(err, errors.ErrUnsupported) && s.cfg.AllowUnsandboxed {
		return argv, spec.Env(nil, env), found, cleanup, "", nil
	}
	if errors.Is(err, errors.ErrUnsupported) {
		cleanup()
		return nil, nil, nil, nil, "", errs.E(errs.Unavailable, errs.ReasonNoSandbox,
			errs.Hint("this platform has no command sandbox (Linux needs Landlock and seccomp); set services.code.sandbox: off to run commands unconfined, at your own risk"))
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, nil, "", errs.E(errs.Failed, errs.ReasonSandboxSetup, err)
	}
	reuse, _ = spec.ReuseKey() // "" with network
	return wrapped, spec.Env(nil, env), found, cleanup, reuse, nil
}

// helperKind is which commands may follow one another in one sandbox
// helper (codeexec.Command.Kind): those of one caller — the same token
// (by its jti), uid and entry — whose Specs leave a helper alike (reuse,
// sandbox.Spec.ReuseKey). "" (a command with network) runs alone.
func helperKind(c service.Caller, reuse string) string {
	if reuse == "" {
		return ""
	}
	who := "uid " + strconv.Itoa(c.UID) + " via " + string(c.Via)
	if c.Token != "" {
		who += " token " + tokenID(c.Token)
	}
	return who + "\x00" + reuse
}

// unmasked is the index's id for walks without a mask.
type unmasked struct{}

func maskWith(deny *denyread.Matcher) autorun.Options {
	return autorun.Options{Mask: func(name string, parents []string) bool {
		return deny.Name(name, parents) != ""
	}}
}

// quarantine looks in dir, once the command and everything it started
// are gone, for executed paths (core/autorun) that were not there before
// it ran, renames them out of the way of the owner's tools, and says so
// in res: a repository, hook, shell start-up file or agent setting the
// command made must not run as the owner at the next `git status`.
func (s *Service) quarantine(op, dir string, before *autorun.Found, res *codeexec.Result) error {
	// Unmasked, as before the index: a directory made with a masked
	// name (a new .env/) may hold what the owner's tools run.
	after, err := s.index.Find(dir, unmasked{}, autorun.Options{})
	// The next command's start finds its walk done, this command's
	// changes included.
	deny := s.denyReadFor(dir)
	go s.index.Find(dir, deny, maskWith(deny))
	if err != nil {
		return errs.E(op, errs.Failed, errs.ReasonQuarantine,
			errs.Hint("the command ran, but "+dir+" could not be checked for files your tools run: look for new .git, hooks, shell or editor files before using it"), err)
	}
	left := autorun.Diff(before, after)
	if len(left) == 0 {
		return nil
	}
	moved, err := autorun.Quarantine(dir, left, strconv.FormatInt(time.Now().Unix(), 10))
	res.Quarantined = moved
	for _, q := range moved {
		res.Stderr += "carapace: quarantined " + q + ": a sandboxed command may not leave files your tools run (docs/sandbox.md)\n"
	}
	if err != nil {
		return errs.E(op, errs.Failed, errs.ReasonQuarantine,
			errs.Hint("the command left files your tools would run and not all could be moved aside: check "+strings.Join(left, ", ")+" before using git or a shell there"), err)
	}
	return nil
}

// networkFor reports whether a command in dir gets network: where the
// owner's rules allow some host or set a credential route, and only
// through the proxy, which needs a warm helper (its network namespace and
// descriptor 5) and the proxy's process (core/egress.Runner). Without them
// the command runs without network. Never the unfiltered network.
func (s *Service) networkFor(dir string) bool { return s.networkWith(s.rulesFor(dir)) }

func (s *Service) networkWith(rules egress.Rules) bool {
	return s.pool != nil && s.egress != nil && (!rules.Empty() || s.cfg.Routes != nil)
}

// tokenNetworkCap is the name a refusal gives the token's narrowing.
const tokenNetworkCap = "the token's network claim"

// commandRules returns the rules for a command call runs in dir: the
// owner's (already within the system's cap), narrowed by the token's
// network claim when it has one. A claim that cannot be read or parsed
// leaves no network (it could only have narrowed).
func (s *Service) commandRules(call *service.Call, dir string) egress.Rules {
	rules := s.rulesFor(dir)
	if call.Caller.Token == "" || rules.Empty() {
		return rules
	}
	claim, err := token.NetworkClaim(call.Caller.Token)
	if err == nil && claim == nil {
		return rules
	}
	var c egress.Cap
	if err == nil {
		if rs, perr := egress.ParseRules(*claim, nil); perr == nil {
			c.Allow = rs.Allow
		}
	}
	c.Name = tokenNetworkCap
	return rules.Within(c)
}

func (s *Service) rulesFor(dir string) egress.Rules {
	if s.cfg.Network == nil {
		return egress.Rules{}
	}
	return s.cfg.Network(dir)
}
