package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/mcpserver"
	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/service"
)

func mcpCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace mcp", flag.ContinueOnError)
	socket := fs.String("socket", "", "router socket (default: $GIMME_SOCKET, the dev stack's, then the installed one)")
	var tokens []string
	fs.Func("token", "a capability token the agent may use; repeat it, one per service (default: $GIMME_TOKEN_FILE's, then $GIMME_TOKEN)", func(s string) error {
		tokens = append(tokens, strings.TrimSpace(s))
		return nil
	})
	tokenFile := fs.String("token-file", "", "read tokens from this file, one per line")
	var grants listFlag
	fs.Var(&grants, "grant", "owner only: mint at start a token for SERVICE:VERBS:PATH, e.g. 'file:GET,PUT:~/Documents/*' (repeatable)")
	ttl := fs.Duration("ttl", 8*time.Hour, "with --grant: how long the minted tokens last (at most tokens.max_ttl)")
	sub := fs.String("sub", "agent:mcp", "with --grant: whom the minted tokens are for, as the audit log names it")
	return &ffcli.Command{
		Name:       "mcp",
		ShortUsage: "carapace mcp [--token T]... [--token-file F] [--grant SVC:VERBS:PATH... [--ttl 8h]] [--socket S]",
		ShortHelp:  "serve the Model Context Protocol on stdio, every tool call through the router with the agent's tokens",
		LongHelp: "carapace mcp is what an MCP client (Claude Code, Claude Desktop, Cursor, Codex, VS Code) starts.\n" +
			"The server never mints and never approves: it uses the tokens it is given (carapace token issue)\n" +
			"and lists only the tools they open. --grant is the owner's shortcut: before serving, the CLI mints\n" +
			"exactly those tokens, with the same rules as token issue (refused to anyone but the owner).\n" +
			"See docs/mcp.md for each client's configuration.",
		FlagSet:     fs,
		Subcommands: []*ffcli.Command{mcpInstallCmd()},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("carapace mcp takes no arguments; tokens go in --token", "unexpected argument %q", args[0])
			}
			all, err := mcpTokens(tokens, *tokenFile)
			if err != nil {
				return err
			}
			minted, err := mintGrants(ctx, *socket, grants, *ttl, *sub)
			if err != nil {
				return err
			}
			all = append(all, minted...)
			if len(all) == 0 {
				return usage("the owner passes --grant 'file:GET,PUT:~/Documents/*', or makes a token with `carapace token issue --aud file --scope 'GET:~/Documents/*' --scope 'PUT:~/Documents/*' --ttl 8h`; pass it with --token, --token-file or $GIMME_TOKEN",
					"mcp needs at least one token")
			}
			if err := notOwner(); err != nil {
				return errs.E("mcp", err)
			}
			oneProc()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			srv, err := mcpserver.New(ctx, mcpserver.Options{Socket: *socket, Tokens: all, Version: version, Log: log})
			if err != nil {
				return errs.E("mcp", err)
			}
			stdin, restore := mcpserver.PollStdin()
			defer restore()
			if err := srv.Run(ctx, mcpserver.Stdio(stdin, os.Stdout)); err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
				return errs.E("mcp", err)
			}
			return nil
		},
	}
}

// oneProc runs the server's goroutines on one thread at a time, unless
// $GOMAXPROCS says otherwise. A call hands over from the stdin reader to
// the SDK's dispatch, the tool's handler and the router connection's
// reader and back, and uses about 80µs of CPU: on one P those hand-overs
// stay on one thread, where with more each could wake another thread (a
// futex call and a context switch). Under strace, a call made 8 futex
// calls with GOMAXPROCS=2 and 4 with 1; docs/mcp.md has the benchmark.
func oneProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// mintedEnv carries the tokens --grant minted across notOwner's re-exec:
// the re-executed server runs under no_new_privs, where the router no
// longer mints for it.
const mintedEnv = "CARAPACE_MCP_MINTED"

// mintGrants asks the router, as the owner, for one token per service
// named in grants ("file:GET,PUT:~/Documents/*"), each exactly as wide as
// its grants, as `carapace token issue` would. After the re-exec it
// returns what was minted before.
func mintGrants(ctx context.Context, socket string, grants []string, ttl time.Duration, sub string) ([]string, error) {
	if v, ok := os.LookupEnv(mintedEnv); ok {
		os.Unsetenv(mintedEnv)
		return strings.Fields(v), nil
	}
	if len(grants) == 0 {
		return nil, nil
	}
	out, err := mint(ctx, socket, "mcp --grant", grants, ttl, sub)
	if err != nil {
		return nil, err
	}
	return out, os.Setenv(mintedEnv, strings.Join(out, " "))
}

// mint asks the router, as the owner, for one token per service named in
// grants, each exactly as wide as its grants. op names the command in
// errors ("mcp --grant").
func mint(ctx context.Context, socket, op string, grants []string, ttl time.Duration, sub string) ([]string, error) {
	var auds []string
	scopes := map[string][]string{}
	for _, g := range grants {
		aud, entries, err := parseGrant(g)
		if err != nil {
			return nil, err
		}
		if scopes[aud] == nil {
			auds = append(auds, aud)
		}
		scopes[aud] = append(scopes[aud], entries...)
	}
	c, err := client.Dial(ctx, client.Socket(socket))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []string
	for _, aud := range auds {
		var res router.IssueResult
		p := router.IssueParams{Aud: aud, Scope: scopes[aud], TTLSeconds: int64(ttl.Seconds()), Sub: sub, Name: "mcp"}
		if err := c.Call(ctx, "token.issue", p, &res); err != nil {
			return nil, errs.E(op+" "+aud, err)
		}
		out = append(out, res.Token)
	}
	return out, nil
}

// parseGrant splits "file:GET,PUT:~/Documents/*" into the service and
// its scope entries ("GET:~/Documents/*", "PUT:~/Documents/*").
func parseGrant(g string) (string, []string, error) {
	bad := func(why string) error {
		return usage("write a grant as SERVICE:VERBS:PATH, e.g. --grant 'file:GET,PUT:~/Documents/*' or --grant 'code:POST:~/Projects/demo/*'",
			"--grant %q: %s", g, why)
	}
	aud, rest, ok := strings.Cut(g, ":")
	verbs, p, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || p == "" {
		return "", nil, bad("want SERVICE:VERBS:PATH")
	}
	if service.Lookup(aud) == nil {
		names := service.Names()
		return "", nil, bad("the service is one of " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1])
	}
	var entries []string
	for _, v := range strings.Split(verbs, ",") {
		switch v {
		case "GET", "PUT", "DELETE", "POST":
			entries = append(entries, v+":"+p)
		default:
			return "", nil, bad(fmt.Sprintf("%q is not GET, PUT, DELETE or POST", v))
		}
	}
	return aud, entries, nil
}

// tokenFileEnv names the agent's token file in its environment (carapace
// agent sets it).
const tokenFileEnv = "GIMME_TOKEN_FILE"

// mcpTokens gathers the tokens: --token (each), the lines of --token-file;
// when neither gave any, the file $GIMME_TOKEN_FILE names, else the
// whitespace-separated $GIMME_TOKEN.
func mcpTokens(flags []string, file string) ([]string, error) {
	out := append([]string{}, flags...)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usage("give a file holding tokens, one per line", "read --token-file: %v", err)
		}
		out = append(out, strings.Fields(string(b))...)
	}
	if f := os.Getenv(tokenFileEnv); len(out) == 0 && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, usage("$"+tokenFileEnv+" names a file of tokens, one per line (carapace agent sets it)", "read $%s: %v", tokenFileEnv, err)
		}
		out = strings.Fields(string(b))
	}
	if len(out) == 0 {
		out = strings.Fields(os.Getenv("GIMME_TOKEN"))
	}
	var keep []string
	for _, t := range out {
		if t != "" {
			keep = append(keep, t)
		}
	}
	return keep, nil
}
