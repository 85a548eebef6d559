package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// examples holds each command's examples, by its path below carapace.
// TestHelpTree requires one for every command.
var examples = map[string][]string{
	"":               {"carapace dev", "carapace status", "carapace help file read"},
	"dev":            {"carapace dev", "carapace dev --config ./local.yaml"},
	"serve":          {"carapace serve file   # started by the supervisor, not by hand"},
	"ping":           {"carapace ping"},
	"echo":           {"carapace echo hello world"},
	"whoami":         {"carapace whoami --json"},
	"status":         {"carapace status", "carapace status --json"},
	"call":           {"carapace call echo '{\"message\":\"hi\"}'"},
	"exec":           {"carapace exec -- make test", "carapace exec --cwd ~/Code/app --timeout 30s -- go test ./..."},
	"restart":        {"carapace restart file"},
	"shell":          {"carapace shell -- make install", "carapace shell --cwd ~/Code/app -- 'git push && git push --tags'"},
	"app":            {"carapace app list", "carapace app open org.gnome.TextEditor ~/Documents/notes.txt"},
	"app list":       {"carapace app list", "carapace app list --json"},
	"app open":       {"carapace app open org.gnome.TextEditor", "carapace app open firefox ~/Downloads/report.pdf"},
	"file":           {"carapace file ls ~/Documents", "carapace file read ~/Documents/notes.txt"},
	"file read":      {"carapace file read ~/Documents/notes.txt", "carapace file read -o copy.pdf ~/Documents/a.pdf"},
	"file write":     {"echo hi | carapace file write ~/Documents/hi.txt", "carapace file write --mode overwrite --from local.txt ~/Documents/a.txt"},
	"file ls":        {"carapace file ls ~/Documents", "carapace file ls --glob '*.pdf' ~/Downloads"},
	"file stat":      {"carapace file stat ~/Documents/notes.txt"},
	"file mkdir":     {"carapace file mkdir -p ~/Documents/a/b"},
	"file mv":        {"carapace file mv ~/Documents/a.txt ~/Documents/b.txt"},
	"file rm":        {"carapace file rm ~/Documents/old.txt", "carapace file rm -r ~/Documents/old"},
	"file find":      {"carapace file find --glob '*.md' ~/Code"},
	"token":          {"carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 10m"},
	"token issue":    {"carapace token issue --aud file --scope 'GET:~/Documents/*' --ttl 10m", "carapace token issue --aud shell --scope 'POST:~/*' --name claude"},
	"token inspect":  {"carapace token inspect \"$GIMME_TOKEN\"", "carapace token inspect - < token.txt"},
	"token revoke":   {"carapace token revoke JTI   # the jti that token inspect shows"},
	"audit":          {"carapace audit tail -n 20", "carapace audit verify"},
	"audit tail":     {"carapace audit tail -n 20", "carapace audit tail -f --json"},
	"audit verify":   {"carapace audit verify", "carapace audit verify --dir ~/.local/state/carapace/audit", "carapace audit verify --checkpoints"},
	"config":         {"carapace config check", "carapace config reload"},
	"config check":   {"carapace config check", "carapace config check --config ./local.yaml"},
	"config reload":  {"carapace config reload"},
	"policy":         {"carapace policy check -- git push"},
	"policy check":   {"carapace policy check -- git push", "carapace policy check --service shell -- rm -rf /tmp/x"},
	"policy profile": {"carapace policy profile --managed managed.yaml --out carapace.mobileconfig", "carapace policy profile --org \"Example Corp\" --out -"},
	"agent":          {"carapace agent --grant 'file:GET,PUT:~/Documents/*' -- claude", "carapace agent --token-file ~/.config/gimme/agent.token -- codex"},
	"approvals":      {"carapace approvals", "carapace approvals --watch   # on a terminal: ↑/↓, then o, t, m, a or d"},
	"approve":        {"carapace approve 1a2b3c4d --scope always", "carapace approve 1a2b3c4d --scope 10m --prefix 3 --dir ~/Projects/demo"},
	"grants":         {"carapace grants", "carapace grants --json"},
	"grants revoke":  {"carapace grants revoke g1a2b3c4d", "carapace grants revoke JTI"},
	"deny":           {"carapace deny 7"},
	"doctor":         {"carapace doctor", "carapace doctor --json"},
	"mcp":            {"carapace mcp --grant 'file:GET:~/Documents/*'"},
	"mcp install":    {"carapace mcp install --client claude-code --grant 'file:GET:~/Documents/*'"},
	"secret":         {"carapace secret set github", "carapace secret list"},
	"secret set":     {"carapace secret set github   # type the token; it is not shown", "gh auth token | carapace secret set github"},
	"secret list":    {"carapace secret list", "carapace secret list --json"},
	"secret rm":      {"carapace secret rm github"},
	"version":        {"carapace version", "carapace --version"},
	"help":           {"carapace help", "carapace help file write"},
}

// globalFlags are the flags every command that talks to the router takes;
// the root's help lists them once.
var globalFlags = []string{"socket", "json", "timeout", "token", "token-file"}

// cmdPaths maps each command to its path below carapace ("file read");
// groups holds the commands that only hold verbs.
var (
	cmdPaths = map[*ffcli.Command]string{}
	groups   = map[*ffcli.Command]bool{}
)

// prepare readies the command tree for the CLI's own help: flag errors
// and usage are printed once, by run, in the words of the README
// (--flag), and a command with verbs but no action of its own names an
// unknown verb.
func prepare(c *ffcli.Command, path string) {
	cmdPaths[c] = path
	if c.FlagSet == nil {
		c.FlagSet = flag.NewFlagSet(strings.TrimSpace("carapace "+path), flag.ContinueOnError)
	}
	c.FlagSet.SetOutput(io.Discard)
	c.UsageFunc = usageText
	if c.Exec == nil && len(c.Subcommands) > 0 {
		groups[c] = true
		c.Exec = func(_ context.Context, args []string) error { return verbError(c, args) }
	}
	for _, s := range c.Subcommands {
		prepare(s, strings.TrimSpace(path+" "+s.Name))
	}
}

// verbError is what a command with verbs says when none, or an unknown
// one, is given.
func verbError(c *ffcli.Command, args []string) error {
	full := strings.TrimSpace("carapace " + cmdPaths[c])
	if len(args) == 0 {
		return &helpError{cmd: c, err: usage("run `"+full+" --help` for each one's flags and examples",
			"%s needs a command: %s", full, strings.Join(names(c.Subcommands), ", "))}
	}
	return unknownCommand(c, args[0])
}

// unknownCommand names an unknown subcommand and the nearest known one.
func unknownCommand(c *ffcli.Command, name string) error {
	full := strings.TrimSpace("carapace " + cmdPaths[c])
	hint := "run `" + full + " --help` for the commands"
	if near := nearest(name, names(c.Subcommands)); near != "" {
		return usage(hint, "unknown command %q for %s; did you mean %q?", name, full, near)
	}
	return usage(hint, "unknown command %q for %s", name, full)
}

// helpError carries a usage mistake and the command whose usage follows it.
type helpError struct {
	cmd *ffcli.Command
	err error
}

func (e *helpError) Error() string { return e.err.Error() }
func (e *helpError) Unwrap() error { return e.err }

func names(cs []*ffcli.Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// nearest returns the candidate closest to name (a prefix of it, or at
// most two edits away), or "".
func nearest(name string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := editDistance(name, c)
		if strings.HasPrefix(c, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// flagWord is how the README writes a flag: -x for one letter, --name
// otherwise.
func flagWord(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var flagInError = regexp.MustCompile(`-{1,2}([A-Za-z][A-Za-z0-9-]*)`)

// flagErrorText rewrites the flag package's error in the README's words:
// "flag provided but not defined: -frob" becomes "unknown flag --frob".
func flagErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	msg = strings.Replace(msg, "flag provided but not defined: ", "unknown flag ", 1)
	msg = strings.Replace(msg, "flag needs an argument: ", "flag needs a value: ", 1)
	return flagInError.ReplaceAllStringFunc(msg, func(m string) string {
		return flagWord(strings.TrimLeft(m, "-"))
	})
}

// usageText is a command's help: what it does, its usage, its verbs, its
// flags (as --flag) and examples.
func usageText(c *ffcli.Command) string {
	var b strings.Builder
	path := cmdPaths[c]
	full := strings.TrimSpace("carapace " + path)
	if c.ShortHelp != "" {
		fmt.Fprintf(&b, "%s: %s\n\n", full, c.ShortHelp)
	}
	fmt.Fprintf(&b, "Usage:\n  %s\n", c.ShortUsage)
	if c.LongHelp != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimRight(c.LongHelp, "\n"))
	}
	if len(c.Subcommands) > 0 {
		b.WriteString("\nCommands:\n")
		w := 0
		for _, s := range c.Subcommands {
			w = max(w, len(s.Name))
		}
		for _, s := range c.Subcommands {
			fmt.Fprintf(&b, "  %-*s  %s\n", w, s.Name, s.ShortHelp)
		}
	}
	own, global := splitFlags(c, path == "")
	if groups[c] && path != "" {
		// A noun's flag set holds its verbs' flags only so they may be
		// typed anywhere; each verb's help lists its own.
		own, global = nil, nil
	}
	if path == "" {
		b.WriteString("\nGlobal flags (any command that talks to the router; before or after the command):\n")
		writeFlags(&b, globalFlagSet())
	}
	if len(own) > 0 || path == "" {
		b.WriteString("\nFlags:\n")
		writeFlags(&b, own)
		b.WriteString("  -h, --help\n        show this help\n")
	}
	if len(global) > 0 {
		b.WriteString("\nGlobal flags:\n")
		writeFlags(&b, global)
	}
	if ex := examples[path]; len(ex) > 0 {
		b.WriteString("\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	if len(c.Subcommands) > 0 {
		fmt.Fprintf(&b, "\nRun `%s COMMAND --help` for a command's flags and examples.\n", full)
	}
	return strings.TrimRight(b.String(), "\n")
}

// splitFlags returns c's flags: its own, and the global ones it takes.
func splitFlags(c *ffcli.Command, root bool) (own, global []*flag.Flag) {
	isGlobal := map[string]bool{}
	for _, g := range globalFlags {
		isGlobal[g] = true
	}
	c.FlagSet.VisitAll(func(f *flag.Flag) {
		if isGlobal[f.Name] && !root && f.Name != "json" {
			global = append(global, f)
			return
		}
		own = append(own, f)
	})
	return own, global
}

// globalFlagSet describes the global flags as the client commands define
// them.
func globalFlagSet() []*flag.Flag {
	fs := flag.NewFlagSet("global", flag.ContinueOnError)
	var f clientFlags
	f.register(fs)
	var out []*flag.Flag
	fs.VisitAll(func(fl *flag.Flag) { out = append(out, fl) })
	return out
}

func writeFlags(b *strings.Builder, flags []*flag.Flag) {
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		name, u := flag.UnquoteUsage(f)
		line := "  " + flagWord(f.Name)
		if name != "" {
			line += " " + strings.ToUpper(name)
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "[]" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(b, "%s\n        %s%s\n", line, u, def)
	}
}

// helpTarget finds the command args name (flags skipped, up to "--"),
// for `carapace help X Y` and `carapace X Y --help`. An unknown name is
// returned as unknown, with the command it was looked for in.
func helpTarget(root *ffcli.Command, args []string) (c *ffcli.Command, unknown string) {
	c = root
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if name, hasValue := flagName(a); name != "" {
			if !hasValue && takesValue(root, c, name) {
				i++
			}
			continue
		}
		sub := subcommand(c, a)
		if sub == nil {
			if groups[c] {
				return c, a
			}
			return c, ""
		}
		c = sub
	}
	return c, ""
}

// takesValue reports whether the flag name, given to c, takes a value.
func takesValue(root, c *ffcli.Command, name string) bool {
	if c == root {
		return !boolEverywhere(root, name) && name != "h" && name != "help" && name != "version"
	}
	f := c.FlagSet.Lookup(name)
	return f != nil && !isBool(f)
}

// showHelp prints the help of the command args name on stdout.
func showHelp(root *ffcli.Command, args []string) error {
	c, unknown := helpTarget(root, args)
	if unknown != "" {
		return unknownCommand(c, unknown)
	}
	fmt.Println(usageText(c))
	return nil
}

// exitOf reports err (nil is success) and returns the exit code.
func exitOf(err error) int {
	if err == nil {
		return exitOK
	}
	return report(err)
}

// wantsHelp reports whether args ask for help: -h, -help or --help
// before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func helpCmd(root func() *ffcli.Command) *ffcli.Command {
	return &ffcli.Command{
		Name:       "help",
		ShortUsage: "carapace help [COMMAND [VERB]]",
		ShortHelp:  "show a command's flags and examples",
		FlagSet:    flag.NewFlagSet("carapace help", flag.ContinueOnError),
		Exec: func(_ context.Context, args []string) error {
			return showHelp(root(), args)
		},
	}
}
