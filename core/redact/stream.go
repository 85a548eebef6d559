package redact

import (
	"bytes"
	"strings"
)

// Holding back. A stream emits complete lines and holds a partial last
// line, up to maxHold bytes of it, until more arrives: a secret cut by a
// chunk boundary is then scanned whole. A secret that spans the cut is
// held from its start; so is a multi-line rule's opening keyword (a
// private key's BEGIN line) whose END has not come yet, for up to
// maxHoldMultiline bytes.
const (
	maxHold          = 4096
	maxHoldMultiline = afterMultiline
)

// Stream redacts a stream of chunks (a command's output as it runs),
// catching secrets cut across chunk boundaries. Write and Close call
// emit with redacted text; Write may hold some bytes back for the next
// call. It is not safe for concurrent use.
type Stream struct {
	s      *Scanner
	emit   func([]byte)
	held   []byte
	counts Counts
}

// NewStream returns a Stream that hands redacted text to emit.
func (s *Scanner) NewStream(emit func([]byte)) *Stream {
	return &Stream{s: s, emit: emit, counts: Counts{}}
}

// Write redacts p, with what was held back before it, and emits all but
// what it must hold back in turn.
func (st *Stream) Write(p []byte) {
	buf := append(st.held, p...)
	ms, open := st.s.find(buf)
	cut := len(buf)
	if i := bytes.LastIndexByte(buf, '\n'); i+1 < len(buf) {
		cut = max(i+1, len(buf)-maxHold)
	}
	for _, o := range open {
		if len(buf)-o <= maxHoldMultiline {
			cut = min(cut, lineStart(buf, o))
			break
		}
	}
	for changed := true; changed; {
		changed = false
		for _, m := range ms {
			if m.Start < cut && cut < m.End {
				cut, changed = m.Start, true
			}
		}
	}
	var out []Match
	for _, m := range ms {
		if m.End <= cut {
			out = append(out, m)
		}
	}
	if cut > 0 {
		text, c := apply(buf[:cut], out)
		st.counts.Add(c)
		st.emit(text)
	}
	st.held = append([]byte(nil), buf[cut:]...)
}

// Close emits what was held back, redacted.
func (st *Stream) Close() {
	if len(st.held) > 0 {
		text, c := st.s.Redact(st.held)
		st.counts.Add(c)
		st.emit(text)
		st.held = nil
	}
}

// Discard drops what was held back, for a stream cut short (a command's
// output over its cap): a secret the cut went through would not be
// recognized, and its start would come out as it is.
func (st *Stream) Discard() { st.held = nil }

// DropCut returns text without its unterminated last line, for output cut
// at a cap, where that line may end inside a secret that the cut made
// unrecognizable: back to the last line break within maxHoldMultiline
// bytes, else the last maxHold bytes.
func DropCut(text string) string {
	if text == "" || text[len(text)-1] == '\n' {
		return text
	}
	lo := max(0, len(text)-maxHoldMultiline)
	if i := strings.LastIndexByte(text[lo:], '\n'); i >= 0 {
		return text[:lo+i+1]
	}
	return text[:max(0, len(text)-maxHold)]
}

// Counts returns the redactions emitted so far.
func (st *Stream) Counts() Counts { return st.counts }

func lineStart(b []byte, i int) int {
	return bytes.LastIndexByte(b[:i], '\n') + 1
}
