package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/mcpserver"
)

func mcpCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace mcp", flag.ContinueOnError)
	socket := fs.String("socket", "", "router socket (default: $GIMME_SOCKET, the dev stack's, then the installed one)")
	var tokens []string
	fs.Func("token", "a capability token the agent may use; repeat it, one per service (default: $GIMME_TOKEN)", func(s string) error {
		tokens = append(tokens, strings.TrimSpace(s))
		return nil
	})
	tokenFile := fs.String("token-file", "", "read tokens from this file, one per line")
	return &ffcli.Command{
		Name:       "mcp",
		ShortUsage: "carapace mcp [--token T]... [--token-file F] [--socket S]",
		ShortHelp:  "serve the Model Context Protocol on stdio, every tool call through the router with the agent's tokens",
		LongHelp: "carapace mcp is what an MCP client (Claude Code, Claude Desktop, Cursor, Codex, VS Code) starts.\n" +
			"It never mints tokens and never approves: the owner gives it tokens (carapace token issue),\n" +
			"and it lists only the tools they open. See docs/mcp.md for each client's configuration.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("carapace mcp takes no arguments; tokens go in --token", "unexpected argument %q", args[0])
			}
			all, err := mcpTokens(tokens, *tokenFile)
			if err != nil {
				return err
			}
			if len(all) == 0 {
				return usage("the owner makes one with `carapace token issue --aud file --scope 'GET:~/Documents/*' --scope 'PUT:~/Documents/*' --ttl 8h`; pass it with --token, --token-file or $GIMME_TOKEN",
					"mcp needs at least one token")
			}
			if err := notOwner(); err != nil {
				return opError("mcp", err)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			srv, err := mcpserver.New(ctx, mcpserver.Options{Socket: *socket, Tokens: all, Version: version, Log: log})
			if err != nil {
				return opError("mcp", err)
			}
			if err := srv.Run(ctx, mcpserver.Stdio(os.Stdin, os.Stdout)); err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
				return opError("mcp", err)
			}
			return nil
		},
	}
}

// mcpTokens gathers the tokens: --token (each), the lines of --token-file,
// and, when neither gave any, the whitespace-separated $GIMME_TOKEN.
func mcpTokens(flags []string, file string) ([]string, error) {
	out := append([]string{}, flags...)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, usage("give a file holding tokens, one per line", "read --token-file: %v", err)
		}
		out = append(out, strings.Fields(string(b))...)
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
