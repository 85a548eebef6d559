package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// mcpClients are the clients `carapace mcp install` knows: where each
// keeps its MCP servers and how it spells one.
var mcpClients = map[string]struct {
	where  string // the file to add the block to (user-level)
	format func(exe string, args []string) string
}{
	"claude-code":    {"the project's .mcp.json (or run the `claude mcp add` line)", claudeCodeBlock},
	"claude-desktop": {claudeDesktopConfig(), func(exe string, args []string) string { return mcpServersJSON(exe, args) }},
	"cursor":         {"~/.cursor/mcp.json (or .cursor/mcp.json in a project)", func(exe string, args []string) string { return mcpServersJSON(exe, args) }},
	"codex":          {"~/.codex/config.toml", codexBlock},
	"vscode":         {".vscode/mcp.json (or your user mcp.json)", vscodeBlock},
}

func mcpInstallCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace mcp install", flag.ContinueOnError)
	clientName := fs.String("client", "", "claude-code, claude-desktop, cursor, codex or vscode")
	var grants listFlag
	fs.Var(&grants, "grant", "SERVICE:VERBS:PATH the server mints at each start (repeatable), e.g. 'file:GET,PUT:~/Documents/*'")
	ttl := fs.String("ttl", "", "with --grant: the tokens' lifetime (default 8h)")
	tokenFile := fs.String("token-file", "", "instead of --grant: the file holding the agent's tokens")
	return &ffcli.Command{
		Name:       "install",
		ShortUsage: "carapace mcp install --client NAME (--grant SVC:VERBS:PATH... | --token-file F)",
		ShortHelp:  "print the MCP configuration block that starts carapace mcp, for one client",
		FlagSet:    fs,
		Exec: func(_ context.Context, args []string) error {
			c, ok := mcpClients[*clientName]
			if !ok || len(args) > 0 {
				return usage("--client is one of claude-code, claude-desktop, cursor, codex, vscode", "mcp install needs --client")
			}
			if (len(grants) == 0) == (*tokenFile == "") {
				return usage("for example: carapace mcp install --client cursor --grant 'file:GET,PUT:~/Documents/*'",
					"mcp install needs --grant (one or more) or --token-file")
			}
			serverArgs := []string{"mcp"}
			for _, g := range grants {
				if _, _, err := parseGrant(g); err != nil {
					return err
				}
				serverArgs = append(serverArgs, "--grant", g)
			}
			if *ttl != "" {
				serverArgs = append(serverArgs, "--ttl", *ttl)
			}
			if *tokenFile != "" {
				serverArgs = append(serverArgs, "--token-file", *tokenFile)
			}
			exe, err := os.Executable()
			if err != nil {
				exe = "carapace"
			}
			fmt.Fprintf(os.Stderr, "carapace: add this to %s\n", c.where)
			fmt.Print(c.format(exe, serverArgs))
			return nil
		},
	}
}

func claudeDesktopConfig() string {
	if runtime.GOOS == "darwin" {
		return "~/Library/Application Support/Claude/claude_desktop_config.json"
	}
	return "claude_desktop_config.json (Settings → Developer → Edit Config)"
}

// mcpServersJSON is the {"mcpServers": …} block Claude and Cursor read.
func mcpServersJSON(exe string, args []string) string {
	return indentJSON(map[string]any{"mcpServers": map[string]any{"carapace": map[string]any{"command": exe, "args": args}}})
}

// claudeCodeBlock is the .mcp.json block; the equivalent `claude mcp add`
// line goes to stderr, so stdout stays one JSON document.
func claudeCodeBlock(exe string, args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintln(os.Stderr, "carapace: or run: claude mcp add carapace -- "+shellQuote(exe)+" "+strings.Join(quoted, " "))
	return mcpServersJSON(exe, args)
}

func vscodeBlock(exe string, args []string) string {
	return indentJSON(map[string]any{"servers": map[string]any{"carapace": map[string]any{"type": "stdio", "command": exe, "args": args}}})
}

func codexBlock(exe string, args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a) // a TOML basic string is a Go-quoted string for these characters
	}
	return "[mcp_servers.carapace]\ncommand = " + strconv.Quote(exe) + "\nargs = [" + strings.Join(q, ", ") + "]\n"
}

func indentJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
