package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
)

func agentCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace agent", flag.ContinueOnError)
	socket := fs.String("socket", "", "router socket (default: $GIMME_SOCKET, the dev stack's, then the installed one)")
	var grants listFlag
	fs.Var(&grants, "grant", "mint for the agent a token for SERVICE:VERBS:PATH, e.g. 'file:GET,PUT:~/Documents/*' (repeatable)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the minted tokens last (at most tokens.max_ttl)")
	sub := fs.String("sub", "", "whom the tokens are for, as the audit log names them (default agent:CMD)")
	tokenFile := fs.String("token-file", "", "instead of --grant: hand the agent the tokens in this file")
	return &ffcli.Command{
		Name:       "agent",
		ShortUsage: "carapace agent (--grant SVC:VERBS:PATH... [--ttl 8h] | --token-file F) -- CMD [ARGS...]",
		ShortHelp:  "start an agent (claude, codex, …) as a non-owner, with its tokens and carapace mcp as its MCP server",
		LongHelp: "carapace agent mints the agent's tokens (as the owner, with the same rules as token issue),\n" +
			"writes them to a 0600 file named by $GIMME_TOKEN_FILE (also in $GIMME_TOKEN), points the agent's\n" +
			"MCP configuration at carapace mcp (claude: --mcp-config; codex: -c mcp_servers.carapace…; others:\n" +
			"the block is printed), and runs CMD under no_new_privs: the router then takes the agent, and\n" +
			"everything it starts, for a non-owner, refused token.*, approvals.* and config.*. The file is\n" +
			"removed when CMD exits. See docs/mcp.md.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usage("for example: carapace agent --grant 'file:GET,PUT:~/Documents/*' -- claude", "agent needs a command after --")
			}
			if (len(grants) == 0) == (*tokenFile == "") {
				return usage("for example: carapace agent --grant 'file:GET,PUT:~/Documents/*' --grant 'code:POST:~/Projects/demo/*' -- claude",
					"agent needs --grant (one or more) or --token-file")
			}
			name := filepath.Base(args[0])
			if *sub == "" {
				*sub = "agent:" + name
			}
			tokens, err := agentTokens(ctx, *socket, grants, *ttl, *sub, *tokenFile)
			if err != nil {
				return err
			}
			return runAgent(*socket, tokens, args)
		},
	}
}

// agentTokens mints the grants, or reads the token file.
func agentTokens(ctx context.Context, socket string, grants []string, ttl time.Duration, sub, file string) ([]string, error) {
	if file != "" {
		return mcpTokens(nil, file)
	}
	for _, g := range grants {
		if _, _, err := parseGrant(g); err != nil {
			return nil, err
		}
	}
	return mint(ctx, socket, "agent --grant", grants, ttl, sub)
}

// runAgent writes the tokens and the MCP configuration to a private
// directory, starts the agent under no_new_privs, waits for it and
// removes the directory. The agent's exit code is ours.
func runAgent(socket string, tokens, args []string) error {
	dir, err := os.MkdirTemp(runtimeDir(), "carapace-agent-")
	if err != nil {
		return errs.E("agent", fmt.Errorf("make the token directory: %w", err))
	}
	defer os.RemoveAll(dir)
	tokFile := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokFile, []byte(strings.Join(tokens, "\n")+"\n"), 0o600); err != nil {
		return errs.E("agent", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return errs.E("agent", err)
	}
	serverArgs := []string{"mcp", "--token-file", tokFile}
	argv, err := agentArgv(args, exe, serverArgs, dir)
	if err != nil {
		return errs.E("agent", err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return usage("give the agent's command after --, e.g. -- claude", "agent: %v", err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), tokenFileEnv+"="+tokFile, "GIMME_TOKEN="+strings.Join(tokens, " "),
		"GIMME_SOCKET="+client.Socket(socket))
	// The terminal's ^C and ^\ reach the agent (same process group); we
	// stay to clean up, and pass on what is sent to us alone.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := startConfined(cmd); err != nil {
		return errs.E("agent", err)
	}
	fmt.Fprintf(os.Stderr, "carapace: agent %s started as a non-owner (no_new_privs), %d token(s) in $%s=%s\n",
		filepath.Base(argv[0]), len(tokens), tokenFileEnv, tokFile)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGTERM || s == syscall.SIGHUP {
				cmd.Process.Signal(s)
			}
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code := ee.ExitCode()
				if code < 0 {
					code = 128 + int(ee.Sys().(syscall.WaitStatus).Signal())
				}
				return exitStatus(code)
			}
			if err != nil {
				return errs.E("agent", err)
			}
			return nil
		}
	}
}

// agentArgv adds to the agent's command line what points it at carapace
// mcp, for the agents whose command line can say so; for the others it
// prints the block to add. dir is where a configuration file may go.
func agentArgv(args []string, exe string, serverArgs []string, dir string) ([]string, error) {
	out := []string{args[0]}
	switch filepath.Base(args[0]) {
	case "claude": // Claude Code: --mcp-config takes a file of {"mcpServers": …}
		f := filepath.Join(dir, "mcp.json")
		if err := os.WriteFile(f, []byte(mcpServersJSON(exe, serverArgs)), 0o600); err != nil {
			return nil, err
		}
		out = append(out, "--mcp-config", f)
	case "codex": // Codex: -c overrides a key of config.toml, in TOML
		q := make([]string, len(serverArgs))
		for i, a := range serverArgs {
			q[i] = strconv.Quote(a)
		}
		out = append(out, "-c", "mcp_servers.carapace.command="+strconv.Quote(exe),
			"-c", "mcp_servers.carapace.args=["+strings.Join(q, ", ")+"]")
	default:
		fmt.Fprintf(os.Stderr, "carapace: %s's MCP configuration should start carapace mcp with the agent's tokens (this file lasts as long as the agent); add:\n%s",
			filepath.Base(args[0]), mcpServersJSON(exe, serverArgs))
	}
	return append(out, args[1:]...), nil
}

// runtimeDir is where the agent's token file goes: $XDG_RUNTIME_DIR (the
// user's own tmpfs) when set, else the temporary directory.
func runtimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return os.TempDir()
}
