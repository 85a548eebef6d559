package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"
)

// mcpClients are the clients `carapace mcp install` knows: where each
// keeps its MCP servers and how it spells one.
var mcpClients = map[string]struct {
	where  string // the file to add the block to, as said to a person
	file   func() (string, error)
	format func(exe string, args []string) string
}{
	"claude-code":    {"the project's .mcp.json (or run the `claude mcp add` line)", inCwd(".mcp.json"), claudeCodeBlock},
	"claude-desktop": {claudeDesktopConfig(), claudeDesktopFile, func(exe string, args []string) string { return mcpServersJSON(exe, args) }},
	"cursor":         {"~/.cursor/mcp.json (or .cursor/mcp.json in a project)", inHome(".cursor", "mcp.json"), func(exe string, args []string) string { return mcpServersJSON(exe, args) }},
	"codex":          {"~/.codex/config.toml", codexFile, codexBlock},
	"vscode":         {".vscode/mcp.json (or your user mcp.json)", inCwd(".vscode", "mcp.json"), vscodeBlock},
}

func mcpInstallCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace mcp install", flag.ContinueOnError)
	clientName := fs.String("client", "", "claude-code, claude-desktop, cursor, codex or vscode")
	var grants listFlag
	fs.Var(&grants, "grant", "SERVICE:VERBS:PATH the server mints at each start (repeatable), e.g. 'file:GET,PUT:~/Documents/*'")
	ttl := fs.String("ttl", "", "with --grant: the tokens' lifetime (default 8h)")
	tokenFile := fs.String("token-file", "", "instead of --grant: the file holding the agent's tokens")
	yes := fs.Bool("yes", false, "write the client's file without asking")
	file := fs.String("file", "", "the client's configuration file (default: the client's usual one)")
	return &ffcli.Command{
		Name:       "install",
		ShortUsage: "carapace mcp install --client NAME (--grant SVC:VERBS:PATH... | --token-file F) [--yes] [--file F]",
		ShortHelp:  "add carapace mcp to one client's MCP configuration (asks first; --yes for scripts)",
		LongHelp: "Prints the block that starts carapace mcp for the client, then, after you confirm (or with --yes),\n" +
			"merges it into the client's file as the server \"carapace\", keeping every other entry and a copy of\n" +
			"the old file beside it (FILE.bak-TIME). Without a terminal and without --yes it only prints.",
		FlagSet: fs,
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
				tf, err := filepath.Abs(*tokenFile)
				if err != nil {
					return usage("give the token file's path", "--token-file: %v", err)
				}
				serverArgs = append(serverArgs, "--token-file", tf)
			}
			exe, err := os.Executable()
			if err != nil {
				exe = "carapace"
			}
			block := c.format(exe, serverArgs)
			path := *file
			if path == "" {
				if path, err = c.file(); err != nil {
					return errs.E("mcp install", err)
				}
			}
			if !*yes && !term.IsTerminal(int(os.Stdin.Fd())) {
				fmt.Fprintf(os.Stderr, "carapace: add this to %s (%s); `--yes` writes it for you\n", c.where, path)
				fmt.Print(block)
				return nil
			}
			fmt.Fprintf(os.Stderr, "carapace: the server \"carapace\" for %s:\n%s", *clientName, block)
			if !*yes && !confirm(fmt.Sprintf("add it to %s?", path)) {
				fmt.Fprintln(os.Stderr, "carapace: nothing written")
				return nil
			}
			backup, err := installBlock(path, *clientName == "codex", block)
			if err != nil {
				return errs.E("mcp install", err)
			}
			fmt.Fprintf(os.Stderr, "carapace: wrote %s", path)
			if backup != "" {
				fmt.Fprintf(os.Stderr, " (the old file is %s)", backup)
			}
			fmt.Fprintf(os.Stderr, "; restart %s to load it\n", *clientName)
			return nil
		},
	}
}

// confirm asks question on stderr and reads y or yes from stdin.
func confirm(question string) bool {
	fmt.Fprintf(os.Stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

func inCwd(elem ...string) func() (string, error) {
	return func() (string, error) {
		wd, err := os.Getwd()
		return filepath.Join(append([]string{wd}, elem...)...), err
	}
}

func inHome(elem ...string) func() (string, error) {
	return func() (string, error) {
		h, err := os.UserHomeDir()
		return filepath.Join(append([]string{h}, elem...)...), err
	}
}

func claudeDesktopFile() (string, error) {
	if runtime.GOOS == "darwin" {
		return inHome("Library", "Application Support", "Claude", "claude_desktop_config.json")()
	}
	d, err := os.UserConfigDir()
	return filepath.Join(d, "Claude", "claude_desktop_config.json"), err
}

// codexFile is $CODEX_HOME/config.toml, ~/.codex/config.toml by default.
func codexFile() (string, error) {
	if h := os.Getenv("CODEX_HOME"); h != "" {
		return filepath.Join(h, "config.toml"), nil
	}
	return inHome(".codex", "config.toml")()
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
