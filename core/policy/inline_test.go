package policy

import (
	"strings"
	"testing"
)

// TestInlineCodeInShell: in the shell service's policy an interpreter
// given its program inline asks the owner even when the owner allows the
// interpreter, as bash -c '$(…)' does; a script file or a plain command
// keeps the owner's rule; the code service's policy is unchanged.
func TestInlineCodeInShell(t *testing.T) {
	rules, err := ParseConfig([]byte(`
policy:
  - {match: [python3], decision: allow}
  - {match: [perl], decision: allow}
  - {match: [node], decision: allow}
  - {match: [awk], decision: allow}
  - {match: [sh], decision: allow}
  - {match: [id], decision: allow}
`))
	if err != nil {
		t.Fatal(err)
	}
	shell, err := New(append(DefaultRules("shell"), rules...), DefaultFor("shell"), fakePath)
	if err != nil {
		t.Fatal(err)
	}
	code, err := New(append(DefaultRules("code"), rules...), DefaultFor("code"), fakePath)
	if err != nil {
		t.Fatal(err)
	}
	inline := [][]string{
		{"python3", "-c", "import os; os.system('id')"},
		{"/usr/bin/python3", "-Bc", "print(1)"},
		{"python3", "-W", "ignore", "-c", "print(1)"},
		{"python3.12", "-c", "1"},
		{"python", "-"},
		{"pypy3", "-c", "1"},
		{"perl", "-e", "system 'id'"},
		{"perl", "-lne", "print"},
		{"perl", "-E", "say 1"},
		{"ruby", "-e", "`id`"},
		{"ruby", "-rjson", "-e", "1"},
		{"node", "-e", "require('child_process').execSync('id')"},
		{"node", "--eval=1"},
		{"node", "-p", "1"},
		{"nodejs", "--print", "1"},
		{"bun", "-e", "1"},
		{"deno", "eval", "1"},
		{"php", "-r", "system('id');"},
		{"lua", "-e", "os.execute('id')"},
		{"luajit", "-e", "1"},
		{"osascript", "-e", "do shell script \"id\""},
		{"Rscript", "-e", "system('id')"},
		{"julia", "-e", "run(`id`)"},
		{"pwsh", "-Command", "id"},
		{"pwsh", "-c", "id"},
		{"tclsh"},
		{"expect", "-c", "spawn id"},
		{"gdb", "-ex", "shell id"},
		{"vim", "-c", ":!id"},
		{"vim", "+!id"},
		{"emacs", "--eval", "(shell-command \"id\")"},
		{"awk", "BEGIN{system(\"id\")}"},
		{"gawk", "-F:", "{print $1}", "/etc/passwd"},
		{"fish", "-c", "id"},
		{"tcsh", "-c", "id"},
		{"env", "python3", "-c", "1"},
		{"timeout", "5", "perl", "-e", "1"},
		{"sh", "-c", "python3 -c 'print(1)'"},
		{"sh", "-c", "echo 'import os' | python3"},
		{"bash", "-c", "ls | awk '{system($1)}'"},
	}
	for _, argv := range inline {
		r := shell.Check(argv)
		if r.Decision != Prompt || !strings.Contains(r.Reason, "code given on the command line") && !strings.Contains(r.Reason, "awk program") {
			t.Errorf("shell: Check(%q) = %v %q, want prompt for inline code", argv, r.Decision, r.Reason)
		}
	}
	for _, argv := range [][]string{
		{"python3", "script.py"},
		{"python3", "-m", "pytest"},
		{"perl", "script.pl", "arg"},
		{"node", "server.js"},
		{"awk", "-f", "prog.awk", "data"},
		{"id"},
		{"sh", "-c", "id"},
	} {
		if r := shell.Check(argv); r.Decision != Allow {
			t.Errorf("shell: Check(%q) = %v %q, want the owner's allow", argv, r.Decision, r.Reason)
		}
	}
	// The code service runs commands in its sandbox: its policy keeps
	// the owner's rules and its default for inline code.
	for _, argv := range inline[:3] {
		if r := code.Check(argv); r.Decision != Allow {
			t.Errorf("code: Check(%q) = %v, want allow", argv, r.Decision)
		}
	}
}
