package policy

import (
	"path/filepath"
	"strings"
	"unicode"
)

// Plain splits a command line into the simple commands it runs, when it is
// plain enough for a remembered approval to be checked against it: words
// (quoted or not) joined by |, &&, || and ;, with no expansion the shell
// would do first — no $, backquotes, globs, ~, redirections (other than
// 2>&1 and to /dev/null), subshells, background jobs, comments, newlines,
// and no NAME=value before a program. Anything else returns nil and why:
// such a line is decided by the owner every time.
func Plain(line string) ([][]string, string) {
	var (
		cmds   [][]string
		cur    []string
		word   strings.Builder
		inWord bool
	)
	endWord := func() {
		if inWord {
			cur = append(cur, word.String())
		}
		word.Reset()
		inWord = false
	}
	endCmd := func() bool {
		endWord()
		if len(cur) == 0 {
			return false
		}
		cmds = append(cmds, cur)
		cur = nil
		return true
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, "a line continuation"
			}
			i++
			word.WriteByte(line[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, "an unclosed quote"
			}
			word.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, "an unclosed quote"
			}
			in := line[i+1 : i+1+j]
			if strings.ContainsAny(in, "$`\\!") {
				return nil, "an expansion inside double quotes"
			}
			word.WriteString(in)
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			endWord()
		case c == '|' || c == ';' || c == '&':
			if c == '&' && !(i+1 < len(line) && line[i+1] == '&') {
				return nil, "a background job"
			}
			if c != ';' && i+1 < len(line) && line[i+1] == c {
				i++
			}
			if !endCmd() {
				return nil, "an empty command"
			}
		case c == '>' || c == '<' || (c >= '0' && c <= '9' && !inWord && i+1 < len(line) && line[i+1] == '>'):
			n := harmlessRedirect(line[i:])
			if n == 0 {
				return nil, "a redirection"
			}
			endWord()
			i += n - 1
		case strings.IndexByte("$`*?[]~#(){}!\n\r", c) >= 0:
			return nil, "shell syntax (" + strings.TrimSpace(string(c)) + ") a remembered approval cannot vouch for"
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if !endCmd() {
		return nil, "an empty command"
	}
	for _, argv := range cmds {
		if strings.Contains(argv[0], "=") {
			return nil, "a variable set before the program"
		}
	}
	return cmds, ""
}

// harmlessRedirect returns the length of a redirection at the start of s
// that changes nothing outside the command (2>&1, >/dev/null,
// 2>/dev/null, &>/dev/null), followed by a blank or the end; 0 otherwise.
func harmlessRedirect(s string) int {
	for _, r := range []string{"2>&1", "2>/dev/null", ">/dev/null", "1>/dev/null"} {
		if strings.HasPrefix(s, r) && (len(s) == len(r) || s[len(r)] == ' ' || s[len(r)] == '\t') {
			return len(r)
		}
	}
	return 0
}

// HasControl reports whether a command line holds a control character
// (other than a tab): a line that could redraw the owner's terminal or
// hide a second line is never remembered.
func HasControl(line string) bool {
	for _, r := range line {
		if r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029') {
			return true
		}
	}
	return false
}

// outbound are programs that send data off the machine or run commands on
// another one.
var outbound = map[string]bool{
	"curl": true, "wget": true, "scp": true, "sftp": true, "ssh": true, "rsync": true,
	"nc": true, "ncat": true, "netcat": true, "socat": true, "telnet": true, "ftp": true,
	"tftp": true, "rclone": true, "aws": true, "gsutil": true, "fetch": true,
}

// NeverRemember says why a command line must be asked about every time,
// or "" when a remembered approval may cover it: it sends data out (curl,
// wget, scp, ssh, rsync, nc, …), destroys (rm -r, rm -f, shred, dd, git
// push --force, git clean -f, git reset --hard), runs a shell on a string
// or on its input (sh -c, bash -c, … | sh), or carries control
// characters. It reads the line as Check does, through wrappers and sh -c
// strings.
func NeverRemember(line string) string {
	if HasControl(line) {
		return "the command line holds control characters"
	}
	for _, s := range splitShell(line, 0) {
		if why := neverRememberArgv(s.argv); why != "" {
			return why
		}
	}
	if segs, _ := tokenize(line); len(segs) > 0 {
		for _, seg := range segs {
			if len(seg.words) > 0 && shellProgram(seg.words[0]) && seg.piped {
				return "pipes into a shell"
			}
		}
	}
	return ""
}

func shellProgram(word string) bool {
	b := filepath.Base(word)
	return shells[b] || b == "fish" || b == "csh" || b == "tcsh" || b == "busybox"
}

func neverRememberArgv(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	prog := filepath.Base(argv[0])
	args := argv[1:]
	switch {
	case outbound[prog]:
		return prog + " can send data off this machine"
	case shellProgram(prog):
		if _, ok := dashC(args); ok {
			return prog + " -c runs a string as a shell script"
		}
		return ""
	case prog == "rm":
		for _, a := range args {
			if a == "--recursive" || a == "--force" || (strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "rRf")) {
				return "rm " + a + " destroys files"
			}
		}
	case prog == "shred" || prog == "dd" || prog == "truncate" || prog == "mkfs":
		return prog + " destroys data"
	case prog == "git" && len(args) > 0:
		return gitNeverRemember(args)
	}
	return ""
}

// gitNeverRemember names git subcommands that rewrite or lose work or
// another machine's state: a forced or deleting push, clean -f, reset
// --hard, and any push to a +refspec.
func gitNeverRemember(args []string) string {
	sub := ""
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			sub, args = a, args[i+1:]
			break
		}
		if a == "-c" || a == "-C" || a == "--git-dir" || a == "--work-tree" {
			return "git " + a + " changes what git runs or where"
		}
	}
	for _, a := range args {
		switch sub {
		case "push":
			if a == "-f" || strings.HasPrefix(a, "--force") || a == "--delete" || a == "-d" || a == "--mirror" ||
				a == "--prune" || strings.HasPrefix(a, "+") || strings.HasPrefix(a, ":") ||
				(strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "fd")) {
				return "git push " + a + " overwrites or deletes another repository's history"
			}
		case "clean":
			if strings.HasPrefix(a, "-") && (strings.Contains(a, "f") || a == "--force") {
				return "git clean " + a + " deletes untracked files"
			}
		case "reset":
			if a == "--hard" {
				return "git reset --hard discards changes"
			}
		}
	}
	return ""
}
