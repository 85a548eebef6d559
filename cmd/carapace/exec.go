package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

func execCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace exec", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	var cf configFlags
	cf.register(fs, "")
	cwd := fs.String("cwd", "", "working directory, inside a project root (default: the current directory if it is in one, else a scratch directory)")
	timeoutMS := fs.Int64("timeout-ms", 0, "the service kills the command after this many milliseconds (default: the service's own limit); --timeout is the client's limit for the whole call, and stops the command too")
	stream := fs.Bool("stream", false, "print output as it arrives (code.output notifications)")
	stdin := fs.Bool("stdin", false, "send this command's standard input to the command")
	return &ffcli.Command{
		Name:       "exec",
		ShortUsage: "carapace exec [flags] -- COMMAND [ARGS...]",
		ShortHelp:  "run a command through the code service; its exit code is passed through",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usage("for example: carapace exec -- make test", "exec needs a command")
			}
			p := map[string]any{"command": args[0], "args": append([]string{}, args[1:]...)}
			dir, err := execDir(*cwd, &cf)
			if err != nil {
				return err
			}
			if dir != "" {
				p["cwd"] = dir
			}
			if *timeoutMS > 0 {
				p["timeout_ms"] = *timeoutMS
			}
			if *stdin {
				b, err := io.ReadAll(os.Stdin)
				if err != nil {
					return errs.E("exec: read stdin", err)
				}
				p["stdin"] = string(b)
			}
			p["stream"] = *stream
			return runExec(ctx, &f, p, *stream)
		},
	}
}

// execDir picks the working directory: --cwd, else the current directory
// when it lies in a configured project root, else none (the service then
// uses a scratch directory).
func execDir(explicit string, cf *configFlags) (string, error) {
	if explicit != "" {
		return filepath.Abs(explicit)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", nil
	}
	st, err := cf.load(true)
	if err != nil {
		return "", nil
	}
	for _, r := range st.Owner.Services.Code.ProjectRoots {
		if wd == r || strings.HasPrefix(wd, r+string(filepath.Separator)) {
			return wd, nil
		}
	}
	file := "~/.config/gimme/local.yaml"
	if st.OwnerPath != "" {
		file = tildeHome(st.OwnerPath, st.OwnerHome)
	}
	fmt.Fprintf(os.Stderr, "carapace: note: %s is not in a project root, so the command runs in a scratch directory\nhint: to run it here, add %s (or a folder above it) to services.code.project_roots in %s, then restart Carapace\n", wd, tildeHome(wd, st.OwnerHome), file)
	return "", nil
}

func runExec(ctx context.Context, f *clientFlags, params map[string]any, stream bool) error {
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	var mu sync.Mutex
	streamed := false
	if stream {
		c.OnNotify(func(method string, raw json.RawMessage) {
			if method != "code.output" {
				return
			}
			var n struct{ Stream, Data string }
			if json.Unmarshal(raw, &n) != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			streamed = true
			if n.Stream == "stderr" {
				io.WriteString(os.Stderr, n.Data)
			} else {
				io.WriteString(os.Stdout, n.Data)
			}
		})
	}
	if err := f.ownerToken(ctx, c, params); err != nil {
		return err
	}
	var res codeexec.Result
	if err := c.Call(ctx, "code.execute", params, &res); err != nil {
		// The client asked the router to cancel: the service kills the
		// command (Close below delivers that first).
		if e := stopped("exec", err, f.timeout, "the command was stopped"); e != nil {
			return e
		}
		if errs.Match(errs.E(errs.ReasonStartFailed), err) || errs.Match(errs.E(errs.ReasonNoProgram), err) {
			return withExit(exitCannotRun, errs.E("exec", err))
		}
		return errs.E("exec", err)
	}
	if f.json {
		if err := printJSON(os.Stdout, res); err != nil {
			return err
		}
	} else {
		mu.Lock()
		if !streamed {
			io.WriteString(os.Stdout, res.Stdout)
			io.WriteString(os.Stderr, res.Stderr)
		}
		mu.Unlock()
		if res.Truncated {
			fmt.Fprintln(os.Stderr, "carapace: note: output was truncated at the service's cap")
		}
	}
	if res.TimedOut {
		return timedOut("exec", "raise --timeout-ms (the service's limit for the command)")
	}
	if res.ExitCode != 0 {
		if note := sandboxNote(res.Stderr); note != "" && !f.json {
			fmt.Fprintln(os.Stderr, note)
		}
		return exitStatus(res.ExitCode & 0xff)
	}
	return nil
}

// sandboxRefusals are what a command prints when the code service's
// sandbox refused it, and the note that says so and what would allow it.
var sandboxRefusals = []struct {
	says []string
	note string
}{
	{[]string{"Permission denied", "Read-only file system", "Operation not permitted"},
		"carapace: note: the sandbox may have refused this: a command run by `carapace exec` may write only inside its project root (services.code.project_roots) and reads nothing under the deny list\nhint: run it in a project root (--cwd), or add the folder to services.code.project_roots in ~/.config/gimme/local.yaml"},
	{[]string{"Could not resolve host", "Temporary failure in name resolution", "Network is unreachable", "getaddrinfo", "Name or service not known"},
		"carapace: note: the sandbox gave this command no network\nhint: commands get the network only in the project roots listed under services.code.network in ~/.config/gimme/local.yaml"},
}

// sandboxNote returns the note for a failed command whose stderr shows a
// sandbox refusal, or "".
func sandboxNote(stderr string) string {
	for _, r := range sandboxRefusals {
		for _, s := range r.says {
			if strings.Contains(stderr, s) {
				return r.note
			}
		}
	}
	return ""
}

// ownerToken gives c, when no token was passed, a one-minute one-time
// token for exactly this command's directory (or a scratch directory).
func (f *clientFlags) ownerToken(ctx context.Context, c *client.Client, params map[string]any) error {
	res := service.CodeScratch
	if d, ok := params["cwd"].(string); ok && d != "" {
		res = d
	}
	return f.selfMint(ctx, c, "exec", "code", []string{"POST:" + res}, true)
}

// selfMint gives c, when no token was passed, a one-minute token for
// exactly scopes, minted by the router for the owner: the owner never
// handles tokens for their own commands. For anyone else the router
// refuses to mint and the call goes on without a token, to be refused with
// a hint. once makes it a one-time token (one service call).
func (f *clientFlags) selfMint(ctx context.Context, c *client.Client, op, aud string, scopes []string, once bool) error {
	if tok, err := f.rawToken(); err != nil || tok != "" {
		return err
	}
	var issued struct{ Token string }
	err := c.Call(ctx, "token.issue", map[string]any{
		"aud": aud, "scope": scopes, "ttl_seconds": 60, "once": once, "sub": "owner", "name": "carapace-cli",
	}, &issued)
	if errs.Match(errs.E(errs.Forbidden, errs.ReasonNotOwner), err) || errs.Match(errs.E(errs.Forbidden, errs.ReasonRemoteEntry), err) {
		return nil
	}
	if err != nil {
		if tw := tooWide(op, aud, scopes, err); tw != err {
			return tw
		}
		return errs.E(op+": token.issue", err)
	}
	return authenticate(ctx, c, issued.Token)
}

// stopped turns a call the client gave up on (--timeout passed, or
// Ctrl-C) into its exit code, saying what became of the remote work; it
// returns nil for any other error.
func stopped(op string, err error, timeout time.Duration, what string) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return withExit(exitTimedOut, errs.E(op, errs.Timeout, errs.ReasonClientTimeout,
			errs.Hint("raise --timeout"), fmt.Errorf("--timeout %v passed; %s", timeout, what)))
	case errors.Is(err, context.Canceled):
		return withExit(exitInterrupted, errs.E(op, errs.ReasonInterrupted, errors.New(what)))
	}
	return nil
}
