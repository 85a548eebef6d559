package file

import (
	"bytes"
	"context"
	"io"
	"path"
	"sort"
	"unicode/utf8"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
)

// Search bounds.
const (
	DefaultMatches  = 100     // matches returned without limit
	MaxMatches      = 1000    // most matches one call returns
	maxSearchFile   = 8 << 20 // larger files are skipped
	maxSearchBytes  = 1 << 30 // bytes read before a search stops
	maxSearchFiles  = 100_000 // files opened before a search stops
	maxQueryLen     = 1024    // bytes in a query
	maxMatchLineLen = 512     // bytes of a matching line returned
	sniffLen        = 8 << 10 // bytes looked at to tell text from binary
)

type searchParams struct {
	Path  string `json:"path"`
	Query string `json:"query"`
	Glob  string `json:"glob"`
	Limit int    `json:"limit"`
}

// Match is one line that holds the query.
type Match struct {
	Path string `json:"path"`
	Line int    `json:"line"` // 1-based
	Text string `json:"text"` // the line, cut at 512 bytes
}

// SearchResult is file.search's result. Truncated is set when a bound
// (matches, files, bytes) stopped the search early.
type SearchResult struct {
	Matches   []Match `json:"matches"`
	Files     int     `json:"files_searched"`
	Truncated bool    `json:"truncated"`
}

type searcher struct {
	s     *Service
	call  *service.Call
	ctx   context.Context
	query []byte
	glob  string
	limit int
	bytes int64
	res   SearchResult
	// scanner redacts the files searched before the query is looked for
	// (nil: not redacted), so that neither the lines returned nor which
	// lines match can tell a secret's characters.
	scanner  *redact.Scanner
	redacted redact.Counts
}

// search looks for a plain substring in the text files under a directory.
// It never follows links, skips deny-listed names (and never descends into
// a deny-listed directory), skips files with more than one hard link, and
// checks every file with the authorize hook before opening it.
func (s *Service) search(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.search"
	var p searchParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbGet, p.Path)
	if err != nil {
		return nil, err
	}
	if p.Query == "" || len(p.Query) > maxQueryLen || !utf8.ValidString(p.Query) {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadQuery, errs.Hint("query must be UTF-8 text of 1 to 1024 bytes"))
	}
	if err := checkGlob(op, p.Glob); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		p.Limit = DefaultMatches
	}
	d, err := t.f.root.OpenDir(t.rel, s.check(call, op, verbGet, t))
	if err != nil {
		return nil, fsError(op, err)
	}
	defer d.Close()
	sr := &searcher{s: s, call: call, ctx: ctx, query: []byte(p.Query), glob: p.Glob, limit: min(p.Limit, MaxMatches),
		scanner: s.redactor(call, t.f), redacted: redact.Counts{}}
	sr.res.Matches = []Match{}
	sr.dir(d, t.abs, 0)
	if err := service.Redacted(call, sr.redacted); err != nil {
		return nil, errs.E(op, errs.Failed, errs.ReasonAudit, errs.Hint("the search's redactions could not be recorded; try again"), err)
	}
	return &sr.res, nil
}

func (sr *searcher) stop() bool {
	if len(sr.res.Matches) >= sr.limit || sr.res.Files >= maxSearchFiles || sr.bytes >= maxSearchBytes || sr.ctx.Err() != nil {
		sr.res.Truncated = true
		return true
	}
	return false
}

func (sr *searcher) dir(d *fsafe.Dir, abs string, depth int) {
	names, err := d.Names()
	if err != nil || depth > maxDepth {
		return
	}
	sort.Strings(names)
	for _, n := range names {
		if sr.stop() {
			return
		}
		p := path.Join(abs, n)
		if _, err := sr.s.allowed(sr.call, "file.search", verbGet, p); err != nil {
			continue
		}
		info, err := d.Lstat(n)
		switch {
		case err != nil:
		case info.Mode.IsDir():
			if sub, err := d.OpenDir(n); err == nil {
				sr.dir(sub, p, depth+1)
				sub.Close()
			}
		case info.Mode.IsRegular() && info.Nlink == 1 && info.Size <= maxSearchFile && globMatch(sr.glob, n):
			sr.file(d, n, p)
		}
	}
}

func (sr *searcher) file(d *fsafe.Dir, name, abs string) {
	f, err := d.OpenFile(name, 0, 0) // O_RDONLY, no follow
	if err != nil {
		return
	}
	defer f.Close()
	info, err := fsafe.Stat(f)
	if err != nil || !info.Mode.IsRegular() || info.Nlink != 1 {
		return // swapped since the lstat
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSearchFile))
	if err != nil {
		return
	}
	sr.res.Files++
	sr.bytes += int64(len(b))
	if bytes.IndexByte(b[:min(len(b), sniffLen)], 0) >= 0 || !utf8.Valid(b) {
		return
	}
	if sr.scanner != nil && bytes.Contains(b, sr.query) {
		var c redact.Counts
		b, c = sr.scanner.Redact(b)
		sr.redacted.Add(c)
	}
	for line := 1; len(b) > 0 && len(sr.res.Matches) < sr.limit; line++ {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if bytes.Contains(l, sr.query) {
			sr.res.Matches = append(sr.res.Matches, Match{Path: abs, Line: line, Text: cutLine(l)})
		}
	}
}

// cutLine returns l cut to maxMatchLineLen bytes at a rune boundary.
func cutLine(l []byte) string {
	if len(l) <= maxMatchLineLen {
		return string(l)
	}
	l = l[:maxMatchLineLen]
	for len(l) > 0 && !utf8.Valid(l) {
		l = l[:len(l)-1]
	}
	return string(l)
}
