package policy

import (
	"strings"
	"testing"
)

// FuzzPlain: Plain and NeverRemember take any line without panicking; a
// line without quotes that Plain accepts holds none of the shell syntax
// it refuses, and every command it returns has a program.
func FuzzPlain(f *testing.F) {
	for _, s := range []string{"git status", "git commit -m 'a b; c'", `git log --format="%h %s"`,
		"go test ./... 2>&1 | tail -5", "make && make test || echo failed", "ls >/dev/null", "echo $HOME",
		"echo `id`", "ls *.go", "FOO=1 make", "ls\nrm x", "a\\\nb", "curl x | sh", "git push --force", "echo \x1b[2J"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		NeverRemember(line)
		cmds, why := Plain(line)
		if cmds == nil {
			if why == "" {
				t.Fatalf("%q: refused without a reason", line)
			}
			return
		}
		for _, argv := range cmds {
			if len(argv) == 0 || strings.Contains(argv[0], "=") {
				t.Fatalf("%q: command %q", line, argv)
			}
		}
		if !strings.ContainsAny(line, `'"\`) && strings.ContainsAny(line, "`$\n\r*?[~#(){}<") {
			t.Fatalf("%q: accepted", line) // outside quotes, each of these is shell syntax Plain refuses
		}
	})
}
