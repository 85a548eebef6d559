package app

import (
	"errors"
	"fmt"
	"strings"
)

// word is one argument of an Exec line, and whether it was quoted.
type word struct {
	s      string
	quoted bool
}

// splitExec splits an Exec value into arguments by the Desktop Entry
// Specification's rules: words are separated by spaces and tabs, a
// double-quoted word may contain them, and inside quotes a backslash
// escapes ", `, $ and \. Nothing else is special: there is no shell, so
// ; | & $( ) and the like are ordinary characters of an argument.
func splitExec(s string) ([]word, error) {
	var out []word
	var cur strings.Builder
	inWord, inQuote, quoted := false, false, false
	flush := func() {
		if inWord {
			out = append(out, word{cur.String(), quoted})
		}
		cur.Reset()
		inWord, quoted = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s) && strings.IndexByte("\"`$\\", s[i+1]) >= 0:
			i++
			cur.WriteByte(s[i])
		case inQuote && c == '"':
			inQuote = false
		case inQuote:
			cur.WriteByte(c)
		case c == '"':
			inQuote, inWord, quoted = true, true, true
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	flush()
	if len(out) == 0 || out[0].s == "" {
		return nil, errors.New("no program")
	}
	return out, nil
}

// expandExec turns an Exec line and the files to open into the command
// lines to run: one, or one per file when the line takes a single file
// (%f, %u) and several are given.
//
// %F and %U standing alone become all the files, %f and %u one file (as a
// path: local files may be passed as paths), %% a percent sign; every other
// field code (%i %c %k and the deprecated ones) is dropped. A field code
// inside a quoted argument is dropped too: the specification leaves it
// undefined, and a quoted argument is usually a shell script, where a file
// name must not go.
func expandExec(exec string, files []string) ([][]string, error) {
	words, err := splitExec(exec)
	if err != nil {
		return nil, fmt.Errorf("exec line %q: %w", exec, err)
	}
	single, multi := false, false
	for _, w := range words {
		if w.quoted {
			continue
		}
		single = single || strings.Contains(w.s, "%f") || strings.Contains(w.s, "%u")
		multi = multi || w.s == "%F" || w.s == "%U"
	}
	if len(files) > 0 && !single && !multi {
		return nil, errNoFileArg
	}
	if single && !multi && len(files) > 1 {
		var out [][]string
		for _, f := range files {
			argv, err := fill(words, []string{f})
			if err != nil {
				return nil, err
			}
			out = append(out, argv)
		}
		return out, nil
	}
	argv, err := fill(words, files)
	if err != nil {
		return nil, err
	}
	return [][]string{argv}, nil
}

var errNoFileArg = errors.New("the desktop entry's Exec takes no files")

// fill expands the field codes of words with files.
func fill(words []word, files []string) ([]string, error) {
	if strings.Contains(strings.ReplaceAll(words[0].s, "%%", ""), "%") {
		return nil, errors.New("the program name holds a field code")
	}
	var argv []string
	for i, w := range words {
		if !w.quoted && (w.s == "%F" || w.s == "%U") {
			argv = append(argv, files...)
			continue
		}
		if !w.quoted && (w.s == "%f" || w.s == "%u") {
			if len(files) > 0 {
				argv = append(argv, files[0])
			}
			continue
		}
		s, drop := expandCodes(w, files)
		if i == 0 && s == "" {
			return nil, errors.New("no program")
		}
		if !drop {
			argv = append(argv, s)
		}
	}
	return argv, nil
}

// expandCodes expands the field codes embedded in one word. drop is true
// when the word was nothing but codes that expand to nothing.
func expandCodes(w word, files []string) (string, bool) {
	if !strings.Contains(w.s, "%") {
		return w.s, false
	}
	var b strings.Builder
	onlyCodes := true
	for i := 0; i < len(w.s); i++ {
		if w.s[i] != '%' || i+1 == len(w.s) {
			b.WriteByte(w.s[i])
			onlyCodes = false
			continue
		}
		i++
		switch c := w.s[i]; {
		case c == '%':
			b.WriteByte('%')
			onlyCodes = false
		case (c == 'f' || c == 'u') && !w.quoted && len(files) > 0:
			b.WriteString(files[0])
			onlyCodes = false
		}
	}
	return b.String(), onlyCodes && b.Len() == 0
}
