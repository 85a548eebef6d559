package redact

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// refHits is the keyword scan as it was before the one-table index: a
// trigram table and a two-byte table tested at every byte, the trigram's
// keywords found through a map. hits must find exactly what it finds, in
// the same order.
type refHits struct {
	s     *Scanner
	tri   [1 << 16 / 64]uint64
	byTri map[uint32][]int
	bi    [1 << 16 / 64]uint64
	short map[uint16][]int
}

func newRefHits(s *Scanner) *refHits {
	r := &refHits{s: s, byTri: map[uint32][]int{}, short: map[uint16][]int{}}
	for ki, k := range s.kws {
		if len(k.text) >= 3 {
			t := uint32(k.text[0])<<16 | uint32(k.text[1])<<8 | uint32(k.text[2])
			h := triHash(t)
			r.tri[h>>6] |= 1 << (h & 63)
			r.byTri[t] = append(r.byTri[t], ki)
		} else {
			v := uint16(k.text[0])<<8 | uint16(k.text[1])
			r.bi[v>>6] |= 1 << (v & 63)
			r.short[v] = append(r.short[v], ki)
		}
	}
	return r
}

func (r *refHits) hits(b []byte) []hit {
	var out []hit
	var t uint32
	for i, c := range b {
		t = (t<<8 | uint32(lower[c])) & 0xffffff
		if h := triHash(t); r.tri[(h>>6)&1023]&(1<<(h&63)) != 0 && i >= 2 {
			for _, ki := range r.byTri[t] {
				if k := r.s.kws[ki]; hasFold(b[i-2:], k.text) {
					out = append(out, hit{pos: i - 2, n: len(k.text), rule: k.rule})
				}
			}
		}
		if v := uint16(t); r.bi[(v>>6)&1023]&(1<<(v&63)) != 0 && i >= 1 && tokenRun(b[i+1:]) {
			for _, ki := range r.short[v] {
				out = append(out, hit{pos: i - 1, n: 2, rule: r.s.kws[ki].rule})
			}
		}
	}
	return out
}

// keywordText returns n bytes of text dense with the scanner's keywords,
// in random case, cut and joined at random, among token runs, line
// breaks and punctuation.
func keywordText(s *Scanner, rng *rand.Rand, n int) []byte {
	const token = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~+/="
	var b []byte
	for len(b) < n {
		switch rng.IntN(4) {
		case 0, 1:
			k := s.kws[rng.IntN(len(s.kws))].text
			if rng.IntN(4) == 0 {
				k = k[:rng.IntN(len(k)+1)]
			}
			for _, c := range k {
				if rng.IntN(2) == 0 && 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				b = append(b, c)
			}
		case 2:
			for range rng.IntN(20) {
				b = append(b, token[rng.IntN(len(token))])
			}
		default:
			b = append(b, " \n\t\"'=:;,{}()[]\x00\xff\xe2"[rng.IntN(17)])
		}
	}
	return b[:n]
}

// TestHitsMatchReference: the one-table scan finds the same keywords, at
// the same places, in the same order, as the scan it replaced, on
// keyword-dense random text and on this repository's Go source; and so
// Find, which runs the rules where they are, finds the same secrets.
func TestHitsMatchReference(t *testing.T) {
	s := Default()
	ref := newRefHits(s)
	rng := rand.New(rand.NewPCG(1, 2))
	texts := [][]byte{sourceText(t, 1<<20), []byte(githubPAT + " " + awsKey + " " + slackBot + " " + stripeLive + "\n" + pemKey)}
	for range 3000 {
		texts = append(texts, keywordText(s, rng, rng.IntN(600)))
	}
	for _, text := range texts {
		got, want := s.hits(text), ref.hits(text)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("hits of %q:\n got %v\nwant %v", text, got, want)
		}
	}
}

// FuzzHits: on any text the one-table scan finds what the scan it
// replaced finds.
func FuzzHits(f *testing.F) {
	f.Add([]byte("key = sk-ant-api03 ghp_ xoxb- s.abcdefghijklmnopqrstu"))
	f.Add([]byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0 q~ABCDEFGHIJKLMNOPQRST"))
	f.Add([]byte("-----BEGIN \x00\xff ey sk s. q~"))
	f.Add([]byte(githubPAT + awsKey + slackBot + stripeLive))
	s := Default()
	ref := newRefHits(s)
	f.Fuzz(func(t *testing.T, text []byte) {
		got, want := s.hits(text), ref.hits(text)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("hits of %q:\n got %v\nwant %v", text, got, want)
		}
	})
}
