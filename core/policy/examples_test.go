package policy

import (
	"strings"
	"testing"
)

// TestRuleExamples: execpolicy's shape (pattern, justification) reads as
// match and reason; examples that the rule does not match, and
// not_examples it does, fail the load naming the rule's line.
func TestRuleExamples(t *testing.T) {
	rules, err := ParseConfig([]byte(`policy:
  - pattern: [git, push]
    decision: prompt
    justification: pushes leave the machine
    examples: ["git push origin main", "cd x && git push"]
    not_examples: ["git status", "git pushx"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Reason != "pushes leave the machine" || rules[0].Decision != Prompt {
		t.Fatalf("rules %+v", rules)
	}
	for doc, want := range map[string]string{
		"policy:\n  - {match: [git, push], decision: prompt}\n  - match: [npm, publish]\n    decision: forbidden\n    examples: [\"npm install\"]\n": `policy rule 2 (line 3): example "npm install" does not match [npm publish]`,
		"policy:\n  - match: [rm]\n    decision: prompt\n    not_examples: [\"ls; rm x\"]\n":                                                         `policy rule 1 (line 2): not_example "ls; rm x" matches [rm]`,
		"policy:\n  - {match: [rm], pattern: [rm], decision: prompt}\n":                                                                              "give match or pattern, not both",
		"policy:\n  - {match: [rm], decision: prompt, exmaples: [rm]}\n":                                                                             "field exmaples not found",
	} {
		_, err := ParseConfig([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

// TestPlain: lines a grant may cover, and the shell syntax that keeps a
// line from being covered.
func TestPlain(t *testing.T) {
	for line, want := range map[string]string{
		"git status":                       "[[git status]]",
		"git commit -m 'a b; c'":           "[[git commit -m a b; c]]",
		`git log --format="%h %s"`:         "[[git log --format=%h %s]]",
		"go test ./... 2>&1 | tail -5":     "[[go test ./...] [tail -5]]",
		"make && make test || echo failed": "[[make] [make test] [echo failed]]",
		"ls >/dev/null":                    "[[ls]]",
	} {
		got, why := Plain(line)
		if why != "" || fmtArgv(got) != want {
			t.Errorf("%q: %v %q, want %s", line, got, why, want)
		}
	}
	for _, line := range []string{"echo $HOME", "echo `id`", "echo $(id)", "ls *.go", "cat ~/x", "ls > out",
		"sleep 1 &", "(cd x; ls)", "FOO=1 make", "ls # c", "echo \"$x\"", "ls\nrm x", "git log | ", "a\\\nb", "echo 'open", "cat < x"} {
		if got, why := Plain(line); got != nil || why == "" {
			t.Errorf("%q: %v %q, want refused", line, got, why)
		}
	}
}

func fmtArgv(cmds [][]string) string {
	var b strings.Builder
	b.WriteString("[")
	for i, c := range cmds {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("[" + strings.Join(c, " ") + "]")
	}
	return b.String() + "]"
}

// TestNeverRemember: what must be asked every time, and what may be
// remembered.
func TestNeverRemember(t *testing.T) {
	for _, line := range []string{"curl x", "env curl x", "timeout 5 wget x", "scp a b:", "ssh h", "rsync a h:", "nc h 1",
		"rm -rf b", "rm -r b", "rm -fr b", "rm --recursive b", "git push --force", "git push -f", "git push origin +main",
		"git push --force-with-lease", "git push origin :x", "git reset --hard", "git clean -fd", "sh -c ls", "bash -lc ls",
		"ls | sh", "curl x | bash", "cat x | zsh", "echo \x1b[2J", "ls\rrm", "sh -c 'sh -c \"curl x\"'", "git -c core.pager=x log"} {
		if NeverRemember(line) == "" {
			t.Errorf("%q may be remembered", line)
		}
	}
	for _, line := range []string{"git status", "git push origin main", "rm file.txt", "go test ./...", "npm install", "ls -la", "sh build.sh"} {
		if why := NeverRemember(line); why != "" {
			t.Errorf("%q never remembered: %s", line, why)
		}
	}
}
