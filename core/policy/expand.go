package policy

import (
	"path/filepath"
	"strings"
)

// simple is one simple command found in a command line.
type simple struct {
	argv   []string
	opaque bool   // parts of it could not be read; at least prompt
	why    string // why it is opaque
	force  *Result
}

// maxDepth bounds wrapper and shell nesting (sh -c "env sh -c '…'").
const maxDepth = 8

// wrappers run the command that follows their own options; skip says how
// many arguments an option-free form takes before the command.
var wrappers = map[string]int{
	"env": 0, "nice": 0, "nohup": 0, "time": 0, "command": 0, "exec": 0,
	"setsid": 0, "stdbuf": 0, "ionice": 0, "xargs": 0, "timeout": 1,
	"chrt": 1, "taskset": 1, "flock": 1, "watch": 0, "strace": 0, "ltrace": 0,
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true,
	"ksh": true, "mksh": true, "ash": true, "busybox": false}

// interpreters read a program from stdin when given no arguments.
var interpreters = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true,
	"ksh": true, "python": true, "python3": true, "perl": true, "ruby": true, "node": true}

// expand returns argv and the commands it runs: through wrappers and
// shell -c strings.
func expand(argv []string, depth int) []simple {
	out := []simple{{argv: argv}}
	if depth >= maxDepth {
		return []simple{{argv: argv, opaque: true, why: "nested too deeply"}}
	}
	base := filepath.Base(argv[0])
	if n, ok := wrappers[base]; ok {
		if inner := afterOptions(argv[1:], n, base == "env"); len(inner) > 0 {
			out = append(out, expand(inner, depth+1)...)
		}
	}
	if shells[base] {
		if script, ok := dashC(argv[1:]); ok {
			out = append(out, splitShell(script, depth+1)...)
		}
	}
	return out
}

// afterOptions skips a wrapper's options (and env's NAME=value words) and
// n positional words, returning the wrapped command.
func afterOptions(args []string, n int, env bool) []string {
	i := 0
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			i++
			return skipN(args[i:], n)
		case strings.HasPrefix(a, "-"):
			i++
		case env && strings.Contains(a, "="):
			i++
		default:
			return skipN(args[i:], n)
		}
	}
	return nil
}

func skipN(args []string, n int) []string {
	if len(args) <= n {
		return nil
	}
	return args[n:]
}

// dashC finds a shell's -c script (-c, -lc, -ec, …).
func dashC(args []string) (string, bool) {
	for i, a := range args {
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") {
			return "", false
		}
		if strings.Contains(a, "c") && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// splitShell splits a shell script into simple commands at ; & | && ||
// and newlines, and words by the shell's quoting rules. What it cannot
// follow (substitutions, variables in command position, here-documents,
// subshells) makes the part opaque.
func splitShell(script string, depth int) []simple {
	segs, opaqueWhy := tokenize(script)
	var out []simple
	downloaded := false
	for _, seg := range segs {
		if len(seg.words) == 0 {
			continue
		}
		if strings.Contains(seg.words[0], "$") {
			out = append(out, simple{argv: seg.words, opaque: true, why: "a variable names the program"})
			continue
		}
		prog := filepath.Base(seg.words[0])
		if prog == "curl" || prog == "wget" || prog == "fetch" {
			downloaded = true
		}
		if seg.piped && downloaded && interpreters[prog] && len(seg.words) == 1 {
			out = append(out, simple{argv: seg.words, force: &Result{Decision: Forbidden,
				Reason: "pipes a download into an interpreter", Program: seg.words[0]}})
			continue
		}
		out = append(out, expand(seg.words, depth)...)
	}
	if opaqueWhy != "" {
		out = append(out, simple{argv: []string{"sh", "-c", script}, opaque: true, why: opaqueWhy})
	}
	return out
}

type segment struct {
	words []string
	piped bool // the segment reads the previous one's output
}

// tokenize is a small POSIX-shell word splitter. It returns the simple
// commands and, when it met syntax it does not follow, why.
func tokenize(s string) ([]segment, string) {
	var (
		segs    []segment
		cur     segment
		word    strings.Builder
		inWord  bool
		why     string
		skipRed bool // the next word is a redirection target
	)
	endWord := func() {
		if inWord {
			if skipRed {
				skipRed = false
			} else {
				cur.words = append(cur.words, word.String())
			}
		}
		word.Reset()
		inWord = false
	}
	endSeg := func(piped bool) {
		endWord()
		segs = append(segs, cur)
		cur = segment{piped: piped}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			word.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return append(segs, cur), "an unclosed quote"
			}
			word.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return append(segs, cur), "an unclosed quote"
			}
			in := s[i+1 : i+1+j]
			if strings.Contains(in, "$(") || strings.Contains(in, "`") || strings.Contains(in, "\\") {
				why = "command substitution"
			}
			word.WriteString(in)
			i += j + 1
			inWord = true
		case c == '`':
			why = "command substitution"
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			why = "command substitution"
			i++
		case c == '(' || c == ')' || c == '{' || c == '}':
			if why == "" {
				why = "a subshell or group"
			}
			endWord()
		case c == '<' && i+1 < len(s) && s[i+1] == '<':
			why = "a here-document"
			endWord()
		case c == '>' || c == '<':
			endWord()
			for i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '&' || s[i+1] == '|') {
				i++
			}
			skipRed = true
		case c == ';' || c == '\n':
			endSeg(false)
		case c == '&' || c == '|':
			piped := c == '|' && !(i+1 < len(s) && s[i+1] == '|')
			if i+1 < len(s) && s[i+1] == c {
				i++
			}
			endSeg(piped)
		case c == ' ' || c == '\t':
			endWord()
		default:
			// A leading digit before a redirection (2>&1) is part of the
			// redirection, not a word.
			if c >= '0' && c <= '9' && !inWord && i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '<') {
				continue
			}
			word.WriteByte(c)
			inWord = true
		}
	}
	endSeg(false)
	return segs, why
}
