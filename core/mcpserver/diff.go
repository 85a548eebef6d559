package mcpserver

import (
	"strconv"
	"strings"
)

// This file renders edit_file's diff exactly as the reference server does:
// a line diff by Myers' O(ND) algorithm, taking the same path through the
// edit graph as the jsdiff library (at a tie, the path that has gone
// further in the old text wins, so removals come before insertions), cut
// into unified-diff hunks with 4 lines of context, under an "Index:" and
// "===" header with the "original"/"modified" labels.

// change is a run of lines the diff keeps, adds or removes. Each line
// keeps its newline, except a last line that had none.
type change struct {
	added, removed bool
	lines          []string
}

// splitKeep splits text into lines that keep their "\n".
func splitKeep(text string) []string {
	if text == "" {
		return nil
	}
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// component is a link in the chain of runs a diagonal's path has taken.
type component struct {
	count          int
	added, removed bool
	prev           *component
}

type diagPath struct {
	oldPos int
	last   *component
}

// diffLines returns the changes that turn old into new.
func diffLines(oldText, newText string) []change {
	a, b := splitKeep(oldText), splitKeep(newText)
	n, m := len(a), len(b)
	extend := func(p *diagPath, diag int) int {
		o, nw, run := p.oldPos, p.oldPos-diag, 0
		for nw+1 < m && o+1 < n && a[o+1] == b[nw+1] {
			o, nw, run = o+1, nw+1, run+1
		}
		if run > 0 {
			p.last = &component{count: run, prev: p.last}
		}
		p.oldPos = o
		return nw
	}
	step := func(p *diagPath, added, removed bool, inc int) *diagPath {
		if l := p.last; l != nil && l.added == added && l.removed == removed {
			return &diagPath{oldPos: p.oldPos + inc, last: &component{count: l.count + 1, added: added, removed: removed, prev: l.prev}}
		}
		return &diagPath{oldPos: p.oldPos + inc, last: &component{count: 1, added: added, removed: removed, prev: p.last}}
	}
	best := map[int]*diagPath{0: {oldPos: -1}}
	if nw := extend(best[0], 0); best[0].oldPos+1 >= n && nw+1 >= m {
		return build(best[0].last, a, b)
	}
	minDiag, maxDiag := -(n + m + 1), n+m+1
	for e := 1; e <= n+m; e++ {
		for d := max(minDiag, -e); d <= min(maxDiag, e); d += 2 {
			rem, add := best[d-1], best[d+1]
			if rem != nil {
				delete(best, d-1)
			}
			canAdd := false
			if add != nil {
				np := add.oldPos - d
				canAdd = 0 <= np && np < m
			}
			canRemove := rem != nil && rem.oldPos+1 < n
			if !canAdd && !canRemove {
				delete(best, d)
				continue
			}
			var p *diagPath
			if !canRemove || (canAdd && rem.oldPos < add.oldPos) {
				p = step(add, true, false, 0)
			} else {
				p = step(rem, false, true, 1)
			}
			nw := extend(p, d)
			if p.oldPos+1 >= n && nw+1 >= m {
				return build(p.last, a, b)
			}
			best[d] = p
			if p.oldPos+1 >= n {
				maxDiag = min(maxDiag, d-1)
			}
			if nw+1 >= m {
				minDiag = max(minDiag, d+1)
			}
		}
	}
	return nil // unreachable: an edit script of n+m steps always exists
}

func build(last *component, a, b []string) []change {
	var comps []*component
	for c := last; c != nil; c = c.prev {
		comps = append(comps, c)
	}
	out := make([]change, 0, len(comps))
	oldPos, newPos := 0, 0
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		ch := change{added: c.added, removed: c.removed}
		switch {
		case c.removed:
			ch.lines = a[oldPos : oldPos+c.count]
			oldPos += c.count
		default:
			ch.lines = b[newPos : newPos+c.count]
			newPos += c.count
			if !c.added {
				oldPos += c.count
			}
		}
		out = append(out, ch)
	}
	return out
}

// hunk is one "@@" section.
type hunk struct {
	oldStart, oldLines, newStart, newLines int
	lines                                  []string
}

// unifiedDiff renders the diff of old and new under name, labelled
// "original" and "modified".
func unifiedDiff(name, oldText, newText string) string {
	const context = 4
	diff := append(diffLines(oldText, newText), change{})
	var hunks []hunk
	oldStart, newStart, oldLine, newLine := 0, 0, 1, 1
	var cur []string
	ctxLines := func(ls []string) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = " " + l
		}
		return out
	}
	for i, c := range diff {
		if c.added || c.removed {
			if oldStart == 0 {
				oldStart, newStart = oldLine, newLine
				if i > 0 {
					prev := diff[i-1].lines
					cur = ctxLines(prev[max(0, len(prev)-context):])
					oldStart -= len(cur)
					newStart -= len(cur)
				}
			}
			mark := "-"
			if c.added {
				mark = "+"
			}
			for _, l := range c.lines {
				cur = append(cur, mark+l)
			}
			if c.added {
				newLine += len(c.lines)
			} else {
				oldLine += len(c.lines)
			}
			continue
		}
		if oldStart != 0 {
			if len(c.lines) <= 2*context && i < len(diff)-2 {
				cur = append(cur, ctxLines(c.lines)...)
			} else {
				n := min(len(c.lines), context)
				cur = append(cur, ctxLines(c.lines[:n])...)
				hunks = append(hunks, hunk{oldStart, oldLine - oldStart + n, newStart, newLine - newStart + n, cur})
				oldStart, newStart, cur = 0, 0, nil
			}
		}
		oldLine += len(c.lines)
		newLine += len(c.lines)
	}
	var sb strings.Builder
	sb.WriteString("Index: " + name + "\n")
	sb.WriteString("===================================================================\n")
	sb.WriteString("--- " + name + "\toriginal\n")
	sb.WriteString("+++ " + name + "\tmodified\n")
	for _, h := range hunks {
		if h.oldLines == 0 {
			h.oldStart--
		}
		if h.newLines == 0 {
			h.newStart--
		}
		sb.WriteString("@@ -" + strconv.Itoa(h.oldStart) + "," + strconv.Itoa(h.oldLines) +
			" +" + strconv.Itoa(h.newStart) + "," + strconv.Itoa(h.newLines) + " @@\n")
		for _, l := range h.lines {
			if t, ok := strings.CutSuffix(l, "\n"); ok {
				sb.WriteString(t + "\n")
			} else {
				sb.WriteString(l + "\n\\ No newline at end of file\n")
			}
		}
	}
	return sb.String()
}
