package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
)

// clientFlags are the flags every client subcommand takes.
type clientFlags struct {
	socket    string
	json      bool
	timeout   time.Duration
	token     string
	tokenFile string
	owner     bool // an owner-only command: no token is sent
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	f.registerOwner(fs)
	f.owner = false
	fs.StringVar(&f.token, "token", "", "capability token sent with auth on connect (default: $GIMME_TOKEN)")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the capability token from this file")
}

// registerOwner registers the flags of a command only the owner may run
// (token.*, approvals.*, config.*): the router knows the owner by the
// socket's peer credentials, so a token would change nothing and the
// command takes none.
func (f *clientFlags) registerOwner(fs *flag.FlagSet) {
	f.owner = true
	fs.StringVar(&f.socket, "socket", "", "router socket (default: $GIMME_SOCKET, else the first of $XDG_RUNTIME_DIR/carapace/router.sock, "+client.SystemSocket+", $TMPDIR/carapace-$UID/router.sock that exists; docs/client.md)")
	fs.BoolVar(&f.json, "json", false, "print machine-readable JSON")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (default: no limit)")
}

// rawToken returns the token chosen by --token, --token-file or
// $GIMME_TOKEN, in that order; "" when none, and always for an
// owner-only command.
func (f *clientFlags) rawToken() (string, error) {
	switch {
	case f.owner:
		return "", nil
	case f.token != "":
		return f.token, nil
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return "", usage("give a file holding one token", "read --token-file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return strings.TrimSpace(os.Getenv("GIMME_TOKEN")), nil
}

// dial connects to the router chosen by the flags and, when a token is
// given, authenticates with it.
func (f *clientFlags) dial(ctx context.Context) (*client.Client, error) {
	tok, err := f.rawToken()
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(ctx, client.Socket(f.socket))
	if err != nil {
		return nil, err
	}
	if tok != "" {
		if err := authenticate(ctx, c, tok); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// authenticate sends auth with tok on c.
func authenticate(ctx context.Context, c *client.Client, tok string) error {
	if err := c.Call(ctx, "auth", map[string]string{"token": tok}, nil); err != nil {
		return errs.E("auth", err)
	}
	return nil
}

func (f *clientFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if f.timeout > 0 {
		return context.WithTimeout(ctx, f.timeout)
	}
	return context.WithCancel(ctx)
}

// call dials, calls, and closes.
func (f *clientFlags) call(ctx context.Context, method string, params, result any) error {
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Call(ctx, method, params, result); err != nil {
		return errs.E(method, err)
	}
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// usage returns an error of kind errs.Usage: the command was invoked
// wrongly. It prints as the message alone, and exits exitUsage.
func usage(hint, format string, args ...any) error {
	return errs.E(errs.Usage, errs.ReasonUsage, errs.Hint(hint), fmt.Errorf(format, args...))
}

// exitStatus asks main to exit with code without printing anything: the
// command has already said why (a command's own exit status, doctor's
// report).
func exitStatus(code int) error { return &errs.Error{Exit: code} }

// withExit is err, printed as it is, ending the command with code.
func withExit(code int, err error) error { return &errs.Error{Exit: code, Err: err} }

// silent reports whether err is an exitStatus: nothing to print.
func silent(err error) bool {
	e, ok := err.(*errs.Error)
	return ok && e.Op == "" && e.Kind == errs.Other && e.Reason == "" && e.Err == nil
}

// report prints err as "carapace: <op>: <why>" and a hint line (with
// --json, as JSON on stderr), and returns the exit code.
func report(err error) int {
	if silent(err) {
		return exitCodeOf(err)
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitUsage
	}
	msg := strings.TrimSpace(err.Error())
	if jsonErrors {
		printJSON(os.Stderr, map[string]any{"error": errorJSON(err)})
		return exitCodeOf(err)
	}
	fmt.Fprintf(os.Stderr, "carapace: %s\n", msg)
	if h := hintOf(err); h != "" {
		fmt.Fprintf(os.Stderr, "hint: %s\n", h)
	}
	var he *helpError
	if errors.As(err, &he) {
		fmt.Fprintf(os.Stderr, "\n%s\n", usageText(he.cmd))
	}
	return exitCodeOf(err)
}

// jsonErrors is set when the command line asks for --json: errors are
// then printed as JSON too, on stderr.
var jsonErrors bool

// wantsJSON reports whether args ask for --json (before any "--").
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true":
			return true
		}
	}
	return false
}

// errorJSON is err as --json prints it: the JSON-RPC code where the kind
// has one, the reason, the message, the hint, and the exit code.
func errorJSON(err error) map[string]any {
	out := map[string]any{"message": strings.TrimSpace(err.Error()), "exit": exitCodeOf(err)}
	if k := errs.KindOf(err); k != errs.Other && k != errs.Usage {
		out["code"] = k.Code()
	}
	if r := errs.ReasonOf(err); r != "" {
		out["reason"] = r
	}
	if h := hintOf(err); h != "" {
		out["hint"] = h
	}
	return out
}

func hintOf(err error) string {
	if h := errs.HintOf(err); h != "" {
		return h
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the call took longer than --timeout; raise it or check `carapace status`"
	}
	return ""
}

// exitCodeOf is the status the command ends with: the error's own Exit,
// else its kind's.
func exitCodeOf(err error) int {
	if x := errs.ExitOf(err); x != 0 {
		return x
	}
	switch errs.KindOf(err) {
	case errs.Usage:
		return exitUsage
	case errs.Unavailable:
		return exitUnavailable
	}
	return exitError
}

// timedOut is a command that hit the service's time limit: killed, the
// CLI exits exitTimedOut.
func timedOut(op, hint string) error {
	return withExit(exitTimedOut, errs.E(op, errs.Timeout, errs.ReasonTimedOut, errs.Hint(hint),
		errors.New("the command timed out and was killed")))
}
