// Package redact finds secrets in text — API keys, tokens, private keys —
// and replaces each with a placeholder that names the rule and a short
// hash of the secret, "[REDACTED:github-pat:3f2a]": the same secret reads
// the same everywhere, and nothing of it is revealed.
//
// The rules are gitleaks' (rules_gitleaks.go, generated from the gitleaks
// module's default configuration by mkrules.go; see docs/secrets.md for
// why the table and not the library), plus the owner's own Patterns.
//
// Scanning is built for speed on text that holds no secret, which is
// nearly all of it: one pass over the bytes looks up each three-byte
// window, lower-cased, in a 64 Kibit table of the rules' keywords; only
// where a keyword is found does a rule's regular expression run, on a
// window around it.
package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// ruleDef is a rule as the generated table holds it.
type ruleDef struct {
	ID          string
	Regex       string
	Keywords    []string // lower-case; the rule runs only near one
	SecretGroup int      // the submatch that is the secret; 0: the first non-empty one
	Entropy     float64  // a secret at or under this Shannon entropy is not one
}

// Pattern is one of the owner's own secret patterns (the redact.patterns
// key of local.yaml).
type Pattern struct {
	// ID names the pattern in placeholders and audit records: lower-case
	// letters, digits and dashes.
	ID string `yaml:"id" json:"id"`
	// Regex is the secret, in Go's regexp syntax; when it has a
	// submatch, the first non-empty one is the secret.
	Regex string `yaml:"regex" json:"regex"`
	// Keywords are literals one of which every secret contains or sits
	// next to (matched ignoring case). Without them the literal prefix
	// of Regex is used; a pattern with neither (of 3 bytes or more) is
	// refused: it would cost a regular expression at every byte.
	Keywords []string `yaml:"keywords" json:"keywords,omitempty"`
}

// Match is a secret found in a text: the bytes [Start, End) and the rule
// that found them.
type Match struct {
	Start, End int
	Rule       string
	whole      []byte // the whole secret when [Start, End) holds only part of it
}

// Counts are redactions per rule id: what an audit record says.
type Counts map[string]int

// Add adds o to c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// Context bounds, in bytes, around a keyword: the regular expression runs
// on [keyword-before, keyword+after]. A secret longer than after (past
// its keyword) is cut where the window ends: still redacted, shorter.
const (
	before         = 256
	after          = 4096
	afterMultiline = 16 << 10 // a PEM private key spans lines
)

type rule struct {
	id        string
	re        *regexp.Regexp
	group     int
	entropy   float64
	multiline bool
	required  []string // lower-case literals every match contains
}

type keyword struct {
	text []byte // lower-case
	rule int
}

// Scanner finds secrets. It is safe for concurrent use.
type Scanner struct {
	rules []rule
	kws   []keyword
	// tri has a bit for each hashed, lower-cased trigram a hit may start
	// with: the first three bytes of a keyword of three or more, and a
	// two-byte keyword followed by a token byte (tokenRun: the only
	// place one counts). One test a byte finds both kinds.
	tri [1 << 16 / 64]uint64
	// rank[w] is the number of tri's bits in the words before w: a set
	// bit's rank numbers its bucket, whose keywords are
	// entries[bucket[rank]:bucket[rank+1]], in the order of kws.
	rank    [1 << 16 / 64]uint16
	bucket  []uint16
	entries []entry
	bi      [1 << 16 / 64]uint64 // two-byte keywords, lower-cased
	short   map[uint16][]int     // two-byte keywords by their bytes
}

// entry is a keyword of three bytes or more in a bucket of Scanner.tri:
// its first three bytes, lower-cased, and its index in kws.
type entry struct {
	t  uint32
	ki int32
}

var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func triHash(t uint32) uint32 { return (t * 0x9E3779B1) >> 16 }

// New returns a scanner with gitleaks' rules and patterns.
func New(patterns []Pattern) (*Scanner, error) {
	defs := append([]ruleDef(nil), gitleaksRules...)
	for _, p := range patterns {
		d, err := p.def()
		if err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	s := &Scanner{short: map[uint16][]int{}}
	for _, d := range defs {
		re, err := regexp.Compile(d.Regex)
		if err != nil {
			return nil, fmt.Errorf("redact rule %s: %w", d.ID, err)
		}
		ri := len(s.rules)
		s.rules = append(s.rules, rule{id: d.ID, re: re, group: d.SecretGroup, entropy: d.Entropy,
			multiline: strings.Contains(d.Regex, `\s\S`) || strings.Contains(d.Regex, "(?s"),
			required:  required(d.Regex)})
		for _, k := range d.Keywords {
			k = strings.ToLower(k)
			ki := len(s.kws)
			s.kws = append(s.kws, keyword{text: []byte(k), rule: ri})
			switch {
			case len(k) >= 3:
				s.setTri(uint32(k[0])<<16 | uint32(k[1])<<8 | uint32(k[2]))
			case len(k) == 2:
				v := uint16(k[0])<<8 | uint16(k[1])
				s.bi[v>>6] |= 1 << (v & 63)
				s.short[v] = append(s.short[v], ki)
				for c := range 256 {
					if isToken[c] && lower[c] == byte(c) {
						s.setTri(uint32(v)<<8 | uint32(c))
					}
				}
			default:
				return nil, fmt.Errorf("redact rule %s: keyword %q is shorter than two bytes", d.ID, k)
			}
		}
	}
	s.index()
	return s, nil
}

func (s *Scanner) setTri(t uint32) {
	h := triHash(t)
	s.tri[h>>6] |= 1 << (h & 63)
}

// index fills rank, bucket and entries from tri and kws.
func (s *Scanner) index() {
	n := 0
	for w, word := range s.tri {
		s.rank[w] = uint16(n)
		n += bits.OnesCount64(word)
	}
	byBucket := make([][]entry, n)
	for ki, k := range s.kws {
		if len(k.text) < 3 {
			continue
		}
		t := uint32(k.text[0])<<16 | uint32(k.text[1])<<8 | uint32(k.text[2])
		r := s.bucketOf(triHash(t))
		byBucket[r] = append(byBucket[r], entry{t: t, ki: int32(ki)})
	}
	s.bucket = make([]uint16, 0, n+1)
	for _, es := range byBucket {
		s.bucket = append(s.bucket, uint16(len(s.entries)))
		s.entries = append(s.entries, es...)
	}
	s.bucket = append(s.bucket, uint16(len(s.entries)))
}

// bucketOf returns the rank of h's bit in tri, which must be set.
func (s *Scanner) bucketOf(h uint32) int {
	w := (h >> 6) & 1023
	return int(s.rank[w]) + bits.OnesCount64(s.tri[w]&(1<<(h&63)-1))
}

// CheckPatterns reports the first of patterns that New would refuse.
func CheckPatterns(patterns []Pattern) error {
	for _, p := range patterns {
		d, err := p.def()
		if err != nil {
			return err
		}
		if _, err := regexp.Compile(d.Regex); err != nil {
			return fmt.Errorf("redact pattern %s: %w", p.ID, err)
		}
	}
	return nil
}

func (p Pattern) def() (ruleDef, error) {
	if p.ID == "" || strings.Trim(p.ID, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || len(p.ID) > 64 {
		return ruleDef{}, fmt.Errorf("redact pattern id %q: use 1-64 lower-case letters, digits and dashes", p.ID)
	}
	re, err := regexp.Compile(p.Regex)
	if err != nil {
		return ruleDef{}, fmt.Errorf("redact pattern %s: %w", p.ID, err)
	}
	kws := p.Keywords
	if len(kws) == 0 {
		if pre, _ := re.LiteralPrefix(); len(pre) >= 3 {
			kws = []string{pre}
		}
	}
	for _, k := range kws {
		if len(k) < 3 {
			return ruleDef{}, fmt.Errorf("redact pattern %s: keyword %q: keywords need 3 bytes or more", p.ID, k)
		}
	}
	if len(kws) == 0 {
		return ruleDef{}, fmt.Errorf("redact pattern %s: give keywords (literals of 3 bytes or more every secret contains): its regex has no literal prefix to scan for", p.ID)
	}
	return ruleDef{ID: p.ID, Regex: p.Regex, Keywords: kws}, nil
}

var defaultScanner = sync.OnceValues(func() (*Scanner, error) { return New(nil) })

// Default returns the scanner with gitleaks' rules alone.
func Default() *Scanner {
	s, err := defaultScanner()
	if err != nil {
		panic(err) // the generated table is tested to compile
	}
	return s
}

// hit is a keyword found at pos.
type hit struct {
	pos, n, rule int
}

// hits returns where keywords occur in b, in order of position (at one
// position a two-byte keyword first, then the longer ones in the order
// of kws).
func (s *Scanner) hits(b []byte) []hit {
	var out []hit
	tri := &s.tri
	var t uint32
	for i, c := range b {
		t = (t<<8 | uint32(lower[c])) & 0xffffff
		if h := triHash(t); tri[(h>>6)&1023]&(1<<(h&63)) != 0 && i >= 2 {
			out = s.check(b, i-2, t, h, out)
		}
	}
	return out
}

// check adds the keywords that begin at p, whose three bytes (lower-cased)
// are t, hashed to h, to out: a two-byte keyword followed by a token run,
// then those of three bytes or more.
func (s *Scanner) check(b []byte, p int, t, h uint32, out []hit) []hit {
	if v := uint16(t >> 8); s.bi[(v>>6)&1023]&(1<<(v&63)) != 0 && tokenRun(b[p+2:]) {
		for _, ki := range s.short[v] {
			out = append(out, hit{pos: p, n: 2, rule: s.kws[ki].rule})
		}
	}
	r := s.bucketOf(h)
	for _, e := range s.entries[s.bucket[r]:s.bucket[r+1]] {
		if e.t != t {
			continue
		}
		if k := s.kws[e.ki]; hasFold(b[p+3:], k.text[3:]) {
			out = append(out, hit{pos: p, n: len(k.text), rule: k.rule})
		}
	}
	return out
}

// tokenRun reports whether b starts with 16 token bytes. A two-byte
// keyword (gitleaks has "ey", "sk", "s.", "q~") counts only then: each of
// those rules' secrets has at least that many after its keyword, and
// without the check "key" or "task" would run the rule on every line.
func tokenRun(b []byte) bool {
	if len(b) < 16 {
		return false
	}
	for _, c := range b[:16] {
		if !isToken[c] {
			return false
		}
	}
	return true
}

var isToken = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.~+/=", byte(c)) >= 0
	}
	return t
}()

// hasFold reports whether b starts with k (lower-case), ignoring ASCII case.
func hasFold(b, k []byte) bool {
	if len(b) < len(k) {
		return false
	}
	for i, c := range k {
		if lower[b[i]] != c {
			return false
		}
	}
	return true
}

// Find returns the secrets in b, sorted and not overlapping.
func (s *Scanner) Find(b []byte) []Match {
	ms, _ := s.find(b)
	return ms
}

// find returns the matches and the positions of keywords of multi-line
// rules that matched nothing (a private key's start whose end may not
// have arrived yet).
func (s *Scanner) find(b []byte) ([]Match, []int) {
	hs := s.hits(b)
	if len(hs) == 0 {
		return nil, nil
	}
	var ms []Match
	var open []int
	done := make(map[int]int) // rule → end of the last window searched
	for _, h := range hs {
		if h.pos+h.n <= done[h.rule] {
			continue
		}
		r := &s.rules[h.rule]
		ws, we := window(b, h, r.multiline)
		done[h.rule] = we
		if !r.mayMatch(b[ws:we]) {
			continue
		}
		found := false
		for _, sm := range r.re.FindAllSubmatchIndex(b[ws:we], -1) {
			if sm[0] == 0 && ws > 0 {
				continue // may be cut: a \b at the window's edge is not one
			}
			st, en := secretSpan(sm, r.group)
			if st < 0 || st == en {
				continue
			}
			if r.entropy > 0 && entropy(b[ws+st:ws+en]) <= r.entropy {
				continue
			}
			ms = append(ms, Match{Start: ws + st, End: ws + en, Rule: r.id})
			found = found || (ws+sm[0] <= h.pos && h.pos < ws+sm[1])
		}
		if r.multiline && !found {
			open = append(open, h.pos)
		}
	}
	return merge(ms), open
}

// window returns the part of b a rule runs on for a keyword hit: the
// hit's line and the lines either side, at most before bytes before it
// and after bytes after (afterMultiline for a rule whose secrets span
// lines).
func window(b []byte, h hit, multiline bool) (int, int) {
	lo, hi := max(0, h.pos-before), min(len(b), h.pos+h.n+after)
	if multiline {
		return lo, min(len(b), h.pos+h.n+afterMultiline)
	}
	ws := lo
	if i := bytes.LastIndexByte(b[lo:h.pos], '\n'); i >= 0 {
		if j := bytes.LastIndexByte(b[lo:lo+i], '\n'); j >= 0 {
			ws = lo + j + 1
		}
	}
	we := hi
	end := h.pos + h.n
	if i := bytes.IndexByte(b[end:hi], '\n'); i >= 0 {
		if j := bytes.IndexByte(b[end+i+1:hi], '\n'); j >= 0 {
			we = end + i + 1 + j
		}
	}
	return ws, we
}

// mayMatch reports whether w holds every literal a match needs.
func (r *rule) mayMatch(w []byte) bool {
	for _, l := range r.required {
		if !containsFold(w, l) {
			return false
		}
	}
	return true
}

// secretSpan returns the part of a match that is the secret: the
// rule's group, else the first non-empty submatch, else all of it (as
// gitleaks does).
func secretSpan(sm []int, group int) (int, int) {
	if group > 0 {
		if 2*group+1 < len(sm) {
			return sm[2*group], sm[2*group+1]
		}
		return -1, -1
	}
	for g := 1; 2*g+1 < len(sm); g++ {
		if sm[2*g] >= 0 && sm[2*g+1] > sm[2*g] {
			return sm[2*g], sm[2*g+1]
		}
	}
	return sm[0], sm[1]
}

// merge sorts ms and joins overlapping matches (the first rule named).
func merge(ms []Match) []Match {
	if len(ms) < 2 {
		return ms
	}
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Start != ms[j].Start {
			return ms[i].Start < ms[j].Start
		}
		return ms[i].End > ms[j].End
	})
	out := ms[:1]
	for _, m := range ms[1:] {
		last := &out[len(out)-1]
		if m.Start < last.End {
			last.End = max(last.End, m.End)
			continue
		}
		out = append(out, m)
	}
	return out
}

// entropy is the Shannon entropy of b's characters, in bits.
func entropy(b []byte) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range string(b) {
		counts[r]++
		n++
	}
	var e float64
	for _, c := range counts {
		f := float64(c) / float64(n)
		e -= f * math.Log2(f)
	}
	return e
}

// Placeholder is what a secret found by rule is replaced with: the rule
// and the first two bytes of the secret's SHA-256, in hex.
func Placeholder(rule string, secret []byte) string {
	sum := sha256.Sum256(secret)
	return "[REDACTED:" + rule + ":" + hex.EncodeToString(sum[:2]) + "]"
}

// Redact returns b with every secret replaced by its placeholder (and the
// line breaks a secret spans, so that line numbers keep), and how many of
// each rule it replaced. b itself is returned when it holds none.
func (s *Scanner) Redact(b []byte) ([]byte, Counts) {
	return apply(b, s.Find(b))
}

// RedactString is Redact for a string.
func (s *Scanner) RedactString(text string) (string, Counts) {
	out, c := s.Redact([]byte(text))
	if c == nil {
		return text, nil
	}
	return string(out), c
}

// apply replaces ms in b.
func apply(b []byte, ms []Match) ([]byte, Counts) {
	if len(ms) == 0 {
		return b, nil
	}
	c := Counts{}
	var out bytes.Buffer
	out.Grow(len(b))
	last := 0
	for _, m := range ms {
		out.Write(b[last:m.Start])
		secret := m.whole
		if secret == nil {
			secret = b[m.Start:m.End]
		}
		out.WriteString(Placeholder(m.Rule, secret))
		// A secret that spans lines (a private key) leaves its line
		// breaks: line numbers after it stay those of the original.
		for range bytes.Count(b[m.Start:m.End], []byte{'\n'}) {
			out.WriteByte('\n')
		}
		c[m.Rule]++
		last = m.End
	}
	out.Write(b[last:])
	return out.Bytes(), c
}

// Range returns the redacted text of b[start:end], where b may hold
// context on either side, and the end to use instead: a secret that
// starts inside the range and runs past end is left for the next range,
// whole, by ending this one where it starts (newEnd < end); a range that
// starts at or inside a secret running past end is extended to the
// secret's end (newEnd > end), so that reading a file in small pieces
// still gives each secret once. A secret that starts before start is
// replaced, from start, by its whole placeholder. The bytes the text
// stands for are b[start:newEnd].
func (s *Scanner) Range(b []byte, start, end int) (text []byte, newEnd int, c Counts) {
	ms := s.Find(b)
	for _, m := range ms {
		switch {
		case m.Start <= start && m.End > end:
			end = m.End
		case m.Start > start && m.Start < end && m.End > end:
			end = m.Start
		}
	}
	var in []Match
	for _, m := range ms {
		if m.End <= start || m.Start >= end {
			continue
		}
		in = append(in, Match{Start: max(m.Start, start) - start, End: min(m.End, end) - start, Rule: m.Rule,
			whole: b[m.Start:m.End]})
	}
	text, c = apply(b[start:end], in)
	return text, end, c
}

// IsBinary reports whether b looks like binary data rather than text: a
// NUL byte in its first 8000 bytes (as git decides) or, in its first
// 512, invalid UTF-8 other than a sequence cut at the end. Binary content
// is not scanned as text.
func IsBinary(b []byte) bool {
	if bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0 {
		return true
	}
	head := b[:min(len(b), 512)]
	for i := 0; i < 3 && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return !utf8.Valid(head)
}
