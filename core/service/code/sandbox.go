package code

import (
	"errors"
	"os"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/sandbox"
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
		return errs.E(op, errs.Denied, errs.Reason("approval_required"),
			errs.Hint("the command policy asks the owner to approve "+r.Program+" ("+r.Reason+"); code commands cannot wait for approval: run it through the shell service, or change the rule in services.code.policy"))
	}
	return nil
}

// sandboxed returns the command line that runs argv in dir under the OS
// sandbox, the environment it gets, and a cleanup for its private
// temporary directory. Without a sandbox it refuses, unless the owner
// turned the sandbox off in the config.
func (s *Service) sandboxed(argv []string, dir string, env map[string]string) ([]string, []string, func(), error) {
	tmp, err := os.MkdirTemp("", "carapace-tmp-")
	if err != nil {
		return nil, nil, nil, errs.E(errs.Failed, err)
	}
	cleanup := func() { os.RemoveAll(tmp) }
	spec := sandbox.ForProject(dir, tmp)
	spec.Network = s.networkAllowed(dir)
	spec.Limits = s.cfg.Limits
	wrapped, err := sandbox.Command(spec, argv)
	if errors.Is(err, errors.ErrUnsupported) && s.cfg.SandboxOff {
		return argv, spec.Env(nil, env), cleanup, nil
	}
	if errors.Is(err, errors.ErrUnsupported) {
		cleanup()
		return nil, nil, nil, errs.E(errs.Unavailable, errs.Reason("no_sandbox"),
			errs.Hint("this platform has no command sandbox (Linux needs Landlock and seccomp); set services.code.sandbox: off to run commands unconfined, at your own risk"))
	}
	if err != nil {
		cleanup()
		return nil, nil, nil, errs.E(errs.Failed, errs.Reason("sandbox_setup"), err)
	}
	return wrapped, spec.Env(nil, env), cleanup, nil
}

func (s *Service) networkAllowed(dir string) bool {
	for _, r := range s.cfg.NetworkRoots {
		if within(r, dir) {
			return true
		}
	}
	return false
}
