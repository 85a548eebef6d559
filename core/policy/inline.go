package policy

import (
	"slices"
	"strings"
)

// inlineReason is the reason of every InlineCode rule.
const inlineReason = "runs code given on the command line or on stdin, which this policy cannot read"

// inlineSpec says how an interpreter (a basename glob in progs) is given
// its program inline: python -c, perl -e, node --eval, … A short flag
// also counts inside a cluster (python -Bc, perl -lne).
type inlineSpec struct {
	progs []string
	short string   // single-letter flags, clustered or not
	long  []string // long flags, alone or as --flag=code (compared without case)
	sub   []string // a first word that takes code (deno eval)
	plus  bool     // +cmd runs a command (vim)
	stdin bool     // with no script argument, or "-", it reads its program from stdin
}

var inlineFlags = []inlineSpec{
	{progs: []string{"python", "python[0-9]*", "pypy", "pypy[0-9]*"}, short: "c", stdin: true},
	{progs: []string{"perl", "perl[0-9]*"}, short: "eE", stdin: true},
	{progs: []string{"ruby", "ruby[0-9]*", "jruby"}, short: "e", stdin: true},
	{progs: []string{"node", "nodejs", "bun"}, short: "ep", long: []string{"--eval", "--print"}, stdin: true},
	{progs: []string{"deno"}, sub: []string{"eval", "repl"}},
	{progs: []string{"php", "php[0-9]*"}, short: "rRBE", long: []string{"--run", "--process-code", "--process-begin", "--process-end"}, stdin: true},
	{progs: []string{"lua", "lua[0-9]*", "luajit"}, short: "e", stdin: true},
	{progs: []string{"osascript"}, short: "e", stdin: true},
	{progs: []string{"Rscript", "R"}, short: "e", long: []string{"--expr"}},
	{progs: []string{"julia"}, short: "eE", long: []string{"--eval", "--print"}},
	{progs: []string{"pwsh", "powershell"}, short: "ce", long: []string{"-command", "-encodedcommand", "--command"}, stdin: true},
	{progs: []string{"elixir", "iex"}, short: "e", long: []string{"--eval"}},
	{progs: []string{"erl"}, long: []string{"-eval"}},
	{progs: []string{"tclsh", "wish"}, stdin: true},
	{progs: []string{"expect"}, short: "c"},
	{progs: []string{"guile"}, short: "ce"},
	{progs: []string{"racket"}, short: "e", long: []string{"--eval"}},
	{progs: []string{"sbcl", "clisp", "ecl"}, short: "x", long: []string{"--eval"}},
	{progs: []string{"ghc", "ghci", "runghc"}, short: "e"},
	{progs: []string{"groovy", "scala", "kotlinc", "jshell"}, short: "e"},
	{progs: []string{"gdb"}, long: []string{"-ex", "--ex", "-eval-command", "--eval-command"}},
	{progs: []string{"vim", "nvim", "vi", "ex", "view"}, short: "cS", long: []string{"--cmd"}, plus: true},
	{progs: []string{"emacs"}, long: []string{"--eval", "-eval", "--execute"}},
	// Shells the policy does not split (it splits POSIX sh -c strings).
	{progs: []string{"fish", "csh", "tcsh", "nu", "xonsh", "elvish", "rc"}, short: "c", stdin: true},
}

// awks run their first argument as a program unless given -f.
var awks = []string{"awk", "gawk", "mawk", "nawk", "busybox-awk"}

// InlineCode returns the rules that make an interpreter given its program
// inline a prompt: python -c, perl -e/-E, ruby -e, node -e/--eval/-p, php
// -r, lua -e, osascript -e, an awk program, and the like, and an
// interpreter reading its program from stdin (`… | python3`). A policy
// splits sh -c strings and checks each command, but cannot read a
// program in another language: python3 -c 'import os; os.system("…")'
// is as opaque as bash -c '$(…)', which is already a prompt.
//
// The shell service's default policy has them (DefaultRules). The code
// service's has not: its commands run in the sandbox, which is the
// boundary there, and an agent's scripts are its everyday work.
func InlineCode() []Rule {
	var rules []Rule
	for i := range inlineFlags {
		f := &inlineFlags[i]
		for _, p := range f.progs {
			rules = append(rules, Rule{Match: []string{p}, Decision: Prompt, Reason: inlineReason,
				also: func(argv []string) bool { return f.inline(argv[1:]) }})
		}
	}
	for _, p := range awks {
		rules = append(rules, Rule{Match: []string{p}, Decision: Prompt,
			Reason: "runs an awk program given on the command line (awk's system() and pipes run commands)",
			also:   awkInline})
	}
	return rules
}

// inline reports whether args (after the program) give it a program
// inline. Every argument is looked at, not only those before the script:
// python3 -W x -c … must not pass because -W takes a value. A script's
// own argument that looks like a flag then asks too; in the shell
// service, which asks the owner for every command anyway, that only
// changes the reason shown.
func (f *inlineSpec) inline(args []string) bool {
	plain := false
	for i, a := range args {
		switch {
		case a == "-":
			if f.stdin {
				return true
			}
		case f.plus && len(a) > 1 && a[0] == '+':
			return true
		case hasLong(f.long, a):
			return true
		case strings.HasPrefix(a, "--"):
		case len(a) > 1 && a[0] == '-':
			if f.short != "" && strings.ContainsAny(a[1:], f.short) {
				return true
			}
		default:
			if i == 0 && slices.Contains(f.sub, a) {
				return true
			}
			plain = true
		}
	}
	return f.stdin && !plain
}

// hasLong reports whether a is one of long, alone or as --flag=value,
// compared without case (PowerShell's -Command is -command).
func hasLong(long []string, a string) bool {
	name, _, _ := strings.Cut(strings.ToLower(a), "=")
	for _, l := range long {
		if name == l {
			return true
		}
	}
	return false
}

// awkInline reports an awk given its program as an argument (no -f).
func awkInline(argv []string) bool {
	for _, a := range argv[1:] {
		if strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "--file") {
			return false
		}
	}
	return true
}
