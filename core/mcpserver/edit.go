package mcpserver

import (
	"strings"
	"unicode"
)

// edit is one replacement of edit_file.
type edit struct {
	OldText string `json:"oldText"`
	NewText string `json:"newText"`
}

// applyEdits applies edits in order, as the reference server does: each
// replaces the first exact occurrence of oldText (line endings taken as
// LF); failing that, the first run of lines equal to oldText's once
// leading and trailing white space is ignored, re-indented to the first
// matched line. An edit that matches nowhere fails the whole call.
func applyEdits(content string, edits []edit) (string, error) {
	for _, e := range edits {
		old := strings.ReplaceAll(e.OldText, "\r\n", "\n")
		nw := strings.ReplaceAll(e.NewText, "\r\n", "\n")
		if strings.Contains(content, old) {
			content = strings.Replace(content, old, nw, 1)
			continue
		}
		oldLines := strings.Split(old, "\n")
		lines := strings.Split(content, "\n")
		found := false
		for i := 0; i <= len(lines)-len(oldLines); i++ {
			if !linesMatch(lines[i:i+len(oldLines)], oldLines) {
				continue
			}
			indent := leadingSpace(lines[i])
			newLines := strings.Split(nw, "\n")
			for j, l := range newLines {
				if j == 0 {
					newLines[j] = indent + strings.TrimLeftFunc(l, unicode.IsSpace)
					continue
				}
				oldIndent := ""
				if j < len(oldLines) {
					oldIndent = leadingSpace(oldLines[j])
				}
				newIndent := leadingSpace(l)
				if oldIndent != "" && newIndent != "" {
					rel := jsLen(newIndent) - jsLen(oldIndent)
					newLines[j] = indent + strings.Repeat(" ", max(0, rel)) + strings.TrimLeftFunc(l, unicode.IsSpace)
				}
			}
			lines = append(lines[:i], append(newLines, lines[i+len(oldLines):]...)...)
			content = strings.Join(lines, "\n")
			found = true
			break
		}
		if !found {
			return "", noMatch{e.OldText}
		}
	}
	return content, nil
}

// noMatch is an edit that matched nowhere; its text is the reference
// server's, word for word, capital included.
type noMatch struct{ old string }

func (e noMatch) Error() string { return "Could not find exact match for edit:\n" + e.old }

func linesMatch(got, want []string) bool {
	for j := range want {
		if strings.TrimSpace(got[j]) != strings.TrimSpace(want[j]) {
			return false
		}
	}
	return true
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeftFunc(s, unicode.IsSpace))]
}

// fencedDiff wraps a diff in a ```diff fence longer than any run of
// backticks inside it, followed by a blank line.
func fencedDiff(diff string) string {
	n := 3
	for strings.Contains(diff, strings.Repeat("`", n)) {
		n++
	}
	fence := strings.Repeat("`", n)
	return fence + "diff\n" + diff + fence + "\n\n"
}
