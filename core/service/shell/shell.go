// Package shell is the shell service: it runs a command line with the
// owner's login shell, as the owner, without a sandbox — and therefore
// only after the owner has approved it: that command, or (a grant the
// owner chose to remember) commands with the same leading words in the
// same directory subtree from the same agent.
//
// shell.execute checks the grants, then the owner's reviewer command if
// one is configured, then puts the command in an approval queue and
// waits; the owner answers through shell.approvals.list and
// shell.approvals.decide (or a desktop notification, Desktop), and sees
// and revokes grants through shell.approvals.grants and
// shell.approvals.revoke — methods this service answers only for the
// owner over a local socket and never on the strength of a token (see
// docs/shellapp.md).
package shell

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/policy"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
)

// MaxCommand caps a command line's length.
const MaxCommand = 64 << 10

// Config configures the shell service.
type Config struct {
	// OwnerUID is the owner; the service refuses to start as anyone else.
	OwnerUID int
	// Shell is the program that runs command lines with -c. Empty: the
	// owner's login shell from the password database.
	Shell string
	// Home is the default working directory. Empty: the owner's home.
	Home string
	// ApprovalTimeout is how long a call waits for the owner (default 2m).
	ApprovalTimeout time.Duration
	// DefaultTimeout applies to a command when a call gives none (default
	// 60s); MaxTimeout caps what a call may ask for (default 1h).
	DefaultTimeout, MaxTimeout time.Duration
	MaxOutput                  int // per stream; default 1 MiB
	// Policy is consulted before asking: forbidden is refused outright.
	// Allow and prompt both ask the owner. Nil forbids nothing.
	Policy *policy.Policy
	// Env is the environment commands start from (default os.Environ()),
	// minus Carapace's own variables.
	Env []string
	Log *slog.Logger
	// Notify is told of each new request; nil sends a desktop
	// notification where one can be shown (notify-send).
	Notify func(approval.Pending)
	// GrantsFile is where remembered approvals persist (a 0600 file in
	// the owner's state directory); empty keeps them in memory only.
	GrantsFile string
	// RequireHuman (the fleet's managed shell.require_human) makes every
	// command a person's decision, each time: no approval is remembered
	// (a decision with a scope is refused, GrantsFile is not read).
	RequireHuman bool
	// Reviewer, when set, is asked about each request no grant covers
	// before the owner is (reviewer.go).
	Reviewer *Reviewer
	// Desktop, when set (and Notify is not), shows each request as a
	// notification the owner can answer (desktop.go).
	Desktop Desktop
	// Redact finds the secrets replaced in approval texts (what the owner
	// is shown, the service log) and, for every caller but the owner's
	// own CLI, in the output; nil is redact.Default().
	Redact *redact.Scanner
}

// Service is the shell service.
type Service struct {
	cfg   Config
	queue *approval.Queue
}

// New returns the shell service. It fails when the process is not the
// owner or the owner has no usable shell.
func New(cfg Config) (*Service, error) {
	if uid := os.Geteuid(); uid != cfg.OwnerUID {
		return nil, errs.E("shell", errs.Unavailable, errs.ReasonNotOwnerProcess,
			errs.Hint("the shell service must run as the owner (uid "+fmt.Sprint(cfg.OwnerUID)+"), not uid "+fmt.Sprint(uid)))
	}
	acct, err := lookupAccount(cfg.OwnerUID)
	if err != nil && (cfg.Shell == "" || cfg.Home == "") {
		return nil, errs.E("shell", errs.Unavailable, errs.ReasonNoAccount,
			errs.Hint("the owner's entry in the password database could not be read"), err)
	}
	if cfg.Shell == "" {
		cfg.Shell = usableShell(acct.Shell)
	}
	if cfg.Home == "" {
		cfg.Home = acct.Home
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = 60 * time.Second
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = time.Hour
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Redact == nil {
		cfg.Redact = redact.Default()
	}
	s := &Service{cfg: cfg}
	switch {
	case cfg.Notify != nil:
	case cfg.Desktop != nil:
		cfg.Notify = s.showDesktop
	default:
		cfg.Notify = desktopNotify(cfg.Log)
	}
	cfg.Env = commandEnv(cfg.Env, acct, cfg.Shell)
	s.cfg = cfg
	if cfg.RequireHuman {
		cfg.GrantsFile, cfg.Reviewer = "", nil
	}
	q, err := approval.Open(approval.Options{Timeout: cfg.ApprovalTimeout, Log: cfg.Log, Notify: cfg.Notify, GrantsFile: cfg.GrantsFile})
	if err != nil {
		return nil, errs.E("shell", errs.Unavailable, err)
	}
	s.queue = q
	return s, nil
}

// Name implements service.Service.
func (s *Service) Name() string { return "shell" }

// Methods implements service.Service.
func (s *Service) Methods() map[string]service.Handler {
	return map[string]service.Handler{
		"shell.execute":          s.execute,
		"shell.info":             s.info,
		"shell.approvals.list":   s.list,
		"shell.approvals.decide": s.decide,
		"shell.approvals.grants": s.grants,
		"shell.approvals.revoke": s.revoke,
	}
}

// OwnerCall implements servicehost.OwnerCalls: the approvals queue is
// reached by the owner through the router's approvals.* methods, with no
// token (list and decide check the caller themselves).
func (s *Service) OwnerCall(method string) bool {
	switch method {
	case "shell.approvals.list", "shell.approvals.decide", "shell.approvals.grants", "shell.approvals.revoke":
		return true
	}
	return false
}

// ExecuteParams are shell.execute's params.
type ExecuteParams struct {
	Command   string `json:"command"`
	Cwd       string `json:"cwd"`
	TimeoutMS int64  `json:"timeout_ms"`
}

func (s *Service) execute(ctx context.Context, call *service.Call) (any, error) {
	const op = "shell.execute"
	var p ExecuteParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	if err := checkCommand(p.Command); err != nil {
		return nil, errs.E(op, err)
	}
	dir, err := s.workdir(p.Cwd)
	if err != nil {
		return nil, errs.E(op, err)
	}
	// The owner is shown, and the log keeps, the command with its
	// secrets replaced (a desktop notification may be on a lock screen);
	// a remembered approval still covers only the very same command line.
	shown, _ := s.cfg.Redact.RedactString(p.Command)
	verdict := s.checkPolicy(p.Command)
	if err := verdict.Err(op); err != nil {
		s.cfg.Log.Info("shell command forbidden", "command", shown, "cwd", dir, "reason", verdict.Reason)
		decide(call, audit.Deny, audit.ByPolicy, ruleReason(verdict), "")
		return nil, err
	}
	// Allow and prompt both ask the owner here: the record says so.
	decide(call, audit.Prompt, audit.ByPolicy, policyReason(verdict), "")
	r := s.request(p.Command, shown, dir, call.Caller, verdict)
	out, err := s.approve(ctx, call, r)
	if err != nil {
		return nil, errs.E(op, err)
	}
	timeout := s.cfg.DefaultTimeout
	if p.TimeoutMS > 0 {
		timeout = min(time.Duration(p.TimeoutMS)*time.Millisecond, s.cfg.MaxTimeout)
	}
	res, err := codeexec.Run(ctx, codeexec.Command{
		Path: s.cfg.Shell, Args: []string{s.cfg.Shell, "-c", p.Command}, Dir: dir,
		Env: append(s.cfg.Env, "PWD="+dir), Timeout: timeout, MaxOutput: s.cfg.MaxOutput, Grace: 2 * time.Second,
	})
	if err != nil {
		return nil, errs.E(op, err)
	}
	s.cfg.Log.Info("shell command finished", "id", out.ID, "remembered", out.Remembered,
		"command", shown, "exit_code", res.ExitCode, "timed_out", res.TimedOut)
	if !service.RawReader(call) {
		counts := redact.Counts{}
		for _, o := range []*string{&res.Stdout, &res.Stderr} {
			if res.Truncated {
				*o = redact.DropCut(*o) // a secret cut by the cap is not recognizable
			}
			var c redact.Counts
			*o, c = s.cfg.Redact.RedactString(*o)
			counts.Add(c)
		}
		if err := service.Redacted(call, counts); err != nil {
			return nil, errs.E(op, errs.Failed, errs.ReasonAudit, errs.Hint("the command ran, but the redactions in its output could not be recorded; its output is withheld"), err)
		}
	}
	return res, nil
}

// request is the approval request for cmd: what the owner is shown, what
// a grant may cover and why not.
func (s *Service) request(cmd, shown, dir string, c service.Caller, verdict policy.Result) approval.Request {
	r := approval.Request{Command: shown, Match: cmd, Cwd: dir, Caller: callerOf(c),
		Policy: verdict.Decision.String(), PolicyReason: verdict.Reason}
	r.Argv, r.NotPlain = policy.Plain(cmd)
	r.NoRemember = policy.NeverRemember(cmd)
	if r.NoRemember == "" && verdict.Decision == policy.Prompt && verdict.Rule != nil {
		// A rule that says prompt (the owner's, or inline code) asks
		// every time: that is what the owner wrote it for.
		r.NoRemember = "a policy rule asks every time: " + verdict.Reason
	}
	if r.NoRemember == "" && len(r.Argv) > 0 {
		p := approval.Pending{Request: r}
		if covers, err := approval.PreviewRequest(p, approval.Decision{Allow: true, Scope: approval.Always}); err == nil {
			r.Covers = covers
		}
	}
	return r
}

// approve decides r: a grant that covers it, else the reviewer, else the
// owner. Every path reports who decided; a refusal is the error.
func (s *Service) approve(ctx context.Context, call *service.Call, r approval.Request) (approval.Outcome, error) {
	if g, ok := s.queue.Covered(r); ok {
		decide(call, audit.Allow, audit.ByRemembered, "grant "+g.ID+": "+g.Describe(), g.Approval)
		return approval.Outcome{Allowed: true, Remembered: true, ID: g.Approval, Grant: g}, nil
	}
	if s.cfg.Reviewer != nil {
		v := s.cfg.Reviewer.Review(ctx, r)
		switch v.Decision {
		case ReviewAllow:
			if r.NoRemember == "" {
				decide(call, audit.Allow, audit.ByReviewer, "reviewer: "+v.Reason, "")
				return approval.Outcome{Allowed: true}, nil
			}
			// Never the reviewer's to allow: the owner is asked.
			s.cfg.Log.Info("reviewer allow ignored", "command", r.Command, "why", r.NoRemember)
		case ReviewDeny:
			decide(call, audit.Deny, audit.ByReviewer, "reviewer: "+v.Reason, "")
			return approval.Outcome{}, errs.E(errs.Denied, errs.ReasonDeniedByReviewer,
				errs.Hint("the owner's reviewer refused this command: "+v.Reason))
		}
	}
	out, err := s.queue.Ask(ctx, r)
	if s.cfg.Desktop != nil && out.ID != "" && !out.Remembered {
		s.cfg.Desktop.Withdraw(out.ID)
	}
	if err != nil {
		decide(call, audit.Deny, askRefusedBy(err), string(errs.ReasonOf(err)), out.ID)
		return out, err
	}
	how := ""
	if out.Channel != "" {
		how = " via " + out.Channel
	}
	switch {
	case out.Remembered:
		decide(call, audit.Allow, audit.ByRemembered, "grant "+out.Grant.ID+": "+out.Grant.Describe(), out.Grant.Approval)
	case out.Allowed:
		decide(call, audit.Allow, audit.ByOwner, "approved"+how, out.ID)
	default:
		decide(call, audit.Deny, audit.ByOwner, "denied"+how, out.ID)
		return out, errs.E(errs.Denied, errs.ReasonDenied,
			errs.Hint("the owner refused this command (request "+out.ID+")"))
	}
	return out, nil
}

// decide reports a decision about call to the router, which writes it to
// the audit log (service.DecisionNote). A note that cannot be sent means
// the router connection is gone, and the answer with it; it is logged.
func decide(call *service.Call, decision, by, reason, approvalID string) {
	d := service.Decision{Decision: decision, By: by, Reason: reason, Approval: approvalID}
	if err := service.Decide(call, d); err != nil {
		slog.Warn("shell: decision not reported", "decision", decision, "by", by, "err", err)
	}
}

// policyReason is the policy record's reason: the policy's own, naming
// the rule, and for an allow, that the shell service asks the owner
// anyway (or a grant or the reviewer answers).
func policyReason(v policy.Result) string {
	if v.Decision == policy.Allow {
		return "policy allows (" + ruleReason(v) + "); the shell service still asks the owner, a grant or the reviewer"
	}
	return ruleReason(v)
}

// ruleReason is v's reason and, when a rule decided, which rule.
func ruleReason(v policy.Result) string {
	if v.Rule == nil {
		return v.Reason
	}
	return v.Reason + " (rule: " + strings.Join(v.Rule.Match, " ") + ")"
}

// askRefusedBy names who ended a request that was not decided: the
// approval time-out, the caller leaving, or the queue's cap.
func askRefusedBy(err error) string {
	switch errs.ReasonOf(err) {
	case errs.ReasonApprovalTimeout:
		return audit.ByTimeout
	case errs.ReasonCallerGone:
		return audit.ByCaller
	}
	return audit.ByService
}

func checkCommand(cmd string) error {
	switch {
	case strings.TrimSpace(cmd) == "":
		return errs.E(errs.InvalidParams, errs.ReasonMissingCommand,
			errs.Hint(`give the command line to run: {"command": "ls -la | head"}`))
	case strings.ContainsRune(cmd, 0):
		return errs.E(errs.InvalidParams, errs.ReasonNULByte, errs.Hint("the command cannot contain NUL bytes"))
	case len(cmd) > MaxCommand:
		return errs.E(errs.TooLarge, errs.ReasonCommandTooLong,
			errs.Hint(fmt.Sprintf("a command line may be at most %d bytes; put a long script in a file", MaxCommand)))
	}
	return nil
}

// workdir returns the absolute, existing directory to run in: cwd, or the
// owner's home.
func (s *Service) workdir(cwd string) (string, error) {
	if cwd == "" {
		cwd = s.cfg.Home
	}
	if !filepath.IsAbs(cwd) {
		return "", errs.E(errs.InvalidParams, errs.ReasonRelativeCwd, errs.Hint("cwd must be an absolute path"))
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(cwd))
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(real); err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		return "", errs.E(errs.NotFound, errs.ReasonNoCwd, errs.Hint("the working directory "+cwd+" does not exist"), err)
	}
	return real, nil
}

// checkPolicy decides a command line as POSIX sh would read it, whatever
// the owner's shell: the policy's splitter understands sh, and a rule on
// "sudo" must hold under fish as well as under bash.
func (s *Service) checkPolicy(cmd string) policy.Result {
	if s.cfg.Policy == nil {
		return policy.Result{Decision: policy.Prompt, Reason: "no command policy; every command asks the owner"}
	}
	return s.cfg.Policy.Check([]string{"sh", "-c", cmd})
}

func (s *Service) info(context.Context, *service.Call) (any, error) {
	return map[string]any{
		"shell":               s.cfg.Shell,
		"home":                s.cfg.Home,
		"approval_timeout_ms": s.queue.Timeout().Milliseconds(),
		"default_timeout_ms":  s.cfg.DefaultTimeout.Milliseconds(),
		"max_timeout_ms":      s.cfg.MaxTimeout.Milliseconds(),
	}, nil
}
