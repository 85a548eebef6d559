package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// runCLI runs the CLI in this process with args and returns its exit
// code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outW, errW
	var ob, eb bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&ob, outR); close(done) }()
	var eDone = make(chan struct{})
	go func() { io.Copy(&eb, errR); close(eDone) }()
	defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
	code = run(args)
	outW.Close()
	errW.Close()
	<-done
	<-eDone
	return code, ob.String(), eb.String()
}

// ownerOnly are the commands only the owner may run: a token changes
// nothing for them, so they must not offer --token.
var ownerOnly = map[string]bool{
	"token issue": true, "token revoke": true, "approvals": true, "approve": true,
	"deny": true, "config reload": true, "restart": true, "grants": true, "grants revoke": true,
	"secret set": true, "secret list": true, "secret rm": true,
}

// TestHelpTree walks every command and checks the rules of the CLI's
// help: `--help` and `help CMD` print the command's usage, flags (as
// --flag) and examples on stdout and exit 0; a bad flag is reported once
// on stderr with that command's usage and exit 2; an unknown verb is
// named with the nearest one; owner-only commands do not list --token.
func TestHelpTree(t *testing.T) {
	var walk func(c *ffcli.Command, path []string)
	walk = func(c *ffcli.Command, path []string) {
		name := strings.Join(path, " ")
		t.Run("carapace "+name, func(t *testing.T) {
			if _, ok := examples[name]; !ok {
				t.Errorf("no examples for %q", name)
			}
			code, out, errOut := runCLI(t, append(append([]string{}, path...), "--help")...)
			if code != 0 || errOut != "" {
				t.Fatalf("--help: exit %d, stderr %q", code, errOut)
			}
			code2, out2, _ := runCLI(t, append([]string{"help"}, path...)...)
			if code2 != 0 || out2 != out {
				t.Errorf("help %s: exit %d, output differs from --help:\n%s", name, code2, out2)
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, "Examples:") {
				t.Errorf("--help lacks usage or examples:\n%s", out)
			}
			if m := regexp.MustCompile("(?m)(^|[ \\[(|`'])-[a-z][a-z-]{2,}").FindString(out); m != "" {
				t.Errorf("a flag printed with one dash: %q\n%s", m, out)
			}
			if groups[c] && name != "" {
				// A noun lists its verbs, not their flags.
				if strings.Contains(out, "\nFlags:") {
					t.Errorf("the noun %q lists flags:\n%s", name, out)
				}
			} else {
				c.FlagSet.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(out, "  "+flagWord(f.Name)+"\n") && !strings.Contains(out, "  "+flagWord(f.Name)+" ") {
						t.Errorf("flag %s not in the help", flagWord(f.Name))
					}
				})
			}
			if ownerOnly[name] && strings.Contains(out, "--token") && c.FlagSet.Lookup("token") != nil {
				t.Errorf("owner-only %q takes --token", name)
			}
			if ownerOnly[name] && c.FlagSet.Lookup("token") != nil {
				t.Errorf("owner-only %q defines --token", name)
			}
			if name == "" {
				for _, g := range []string{"--socket", "--token", "--json", "--timeout", "--version"} {
					if !strings.Contains(out, g) {
						t.Errorf("the root's help does not list the global flag %s", g)
					}
				}
				return
			}
			if groups[c] {
				code, _, errOut := runCLI(t, append(append([]string{}, path...), "frobnicate")...)
				if code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
					t.Errorf("unknown verb: exit %d, %q", code, errOut)
				}
				return
			}
			if name == "serve" || name == "help" || name == "version" {
				// serve takes its service as an argument, before flags.
				return
			}
			code, out, errOut = runCLI(t, append(append([]string{}, path...), "--no-such-flag")...)
			if code != exitUsage || out != "" {
				t.Errorf("bad flag: exit %d, stdout %q", code, out)
			}
			if strings.Count(errOut, "no-such-flag") != 1 || !strings.Contains(errOut, "unknown flag --no-such-flag") || !strings.Contains(errOut, "Usage:") {
				t.Errorf("bad flag not reported once with the usage:\n%s", errOut)
			}
		})
		for _, s := range c.Subcommands {
			walk(s, append(append([]string{}, path...), s.Name))
		}
	}
	walk(rootCommand(), nil)
}

func TestUnknownCommandSuggests(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"stauts", `unknown command "stauts" for carapace; did you mean "status"?`},
		{"frobnicate", `unknown command "frobnicate" for carapace`},
		{"file red x", `did you mean "read"?`},
		{"token isue", `did you mean "issue"?`},
	} {
		code, out, errOut := runCLI(t, strings.Fields(tc.args)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "carapace ") {
		t.Fatalf("--version: exit %d %q", code, out)
	}
}
