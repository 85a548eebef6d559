package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/errs"
)

func shellCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace shell", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	cwd := fs.String("cwd", "", "working directory (default: the current directory)")
	timeoutMS := fs.Int64("timeout-ms", 0, "the service kills the command after this many milliseconds, once approved (default: the service's own limit)")
	return &ffcli.Command{
		Name:       "shell",
		ShortUsage: "carapace shell [--cwd DIR] [--timeout-ms N] -- COMMAND [ARGS...]",
		ShortHelp:  "run a command as you, unsandboxed, once the owner approves it (shell service)",
		LongHelp: "Asks the shell service to run the command with /bin/sh as the owner. The owner\n" +
			"is asked first, every time (`carapace approvals`, then `carapace approve ID` or\n" +
			"`carapace deny ID`); until then this waits, saying so on stderr. One argument is\n" +
			"the shell's command line as it is (`carapace shell -- 'ls | wc -l'`); several are\n" +
			"quoted word by word. The command's exit code is passed through.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usage("for example: carapace shell -- make install", "shell needs a command")
			}
			dir := *cwd
			if dir == "" {
				dir, _ = os.Getwd()
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return errs.E("shell", err)
			}
			p := map[string]any{"command": shellLine(args), "cwd": dir}
			if *timeoutMS > 0 {
				p["timeout_ms"] = *timeoutMS
			}
			return runShell(ctx, &f, p)
		},
	}
}

// shellLine is the command line the shell runs: one argument as it is,
// several quoted for sh word by word.
func shellLine(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func runShell(ctx context.Context, f *clientFlags, params map[string]any) error {
	ctx, cancel := f.context(ctx)
	defer cancel()
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := f.selfMint(ctx, c, "shell", "shell", []string{"POST:" + params["cwd"].(string)}, true); err != nil {
		return err
	}
	if !f.json {
		fmt.Fprintln(os.Stderr, "carapace: shell: waiting for the owner's approval… (the owner runs `carapace approvals`, then `carapace approve ID` or `carapace deny ID`)")
	}
	var res codeexec.Result
	if err := c.Call(ctx, "shell.execute", params, &res); err != nil {
		if e := stopped("shell", err, f.timeout, "the request was withdrawn"); e != nil {
			return e
		}
		return errs.E("shell", err)
	}
	if f.json {
		if err := printJSON(os.Stdout, res); err != nil {
			return err
		}
	} else {
		io.WriteString(os.Stdout, res.Stdout)
		io.WriteString(os.Stderr, res.Stderr)
	}
	if res.TimedOut {
		return timedOut("shell", "raise --timeout-ms")
	}
	if res.ExitCode != 0 {
		return exitStatus(res.ExitCode & 0xff)
	}
	return nil
}
