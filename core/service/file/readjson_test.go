package file

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gimme-tools/carapace/core/fsafe"
)

// TestReadJSON: file.read's own encoder writes what encoding/json writes
// for the same ReadResult, text or base64, whatever the bytes.
func TestReadJSON(t *testing.T) {
	alphabet := []string{"a", "Z", " ", "\t", "\n", "\r", "\f", "\b", "\x00", "\x1f", "\x7f", `"`, `\`, "<", ">", "&",
		"é", "€", "\u2028", "\u2029", "\u2027", "\u202a", "\xe2", "\xe2\x80", "\xff", "😀", "\xf0\x9f"}
	r := rand.New(rand.NewPCG(3, 4))
	info := fsafe.Info{Size: 12345, ModTime: time.Unix(1700000000, 120)}
	for i := range 20000 {
		var b []byte
		n, odds := r.IntN(40), 3
		if i%3 == 1 { // long plain runs, for appendText's eight bytes at a time
			n, odds = r.IntN(400), 40
		}
		for range n {
			if r.IntN(odds) == 0 || i%5 == 0 { // some all specials: base64 is cheaper
				b = append(b, alphabet[r.IntN(len(alphabet))]...)
			} else {
				b = append(b, byte('a'+r.IntN(26)))
			}
		}
		eof := i%2 == 0
		want := ReadResult{Offset: int64(i), Size: info.Size, Mtime: FormatMtime(info.ModTime), EOF: eof}
		if t := textPrefix(b, eof); isTextSlow(t) {
			want.Content, want.Encoding, want.Length = string(t), "utf-8", len(t)
		} else {
			want.Content, want.Encoding, want.Length = base64.StdEncoding.EncodeToString(b), "base64", len(b)
		}
		wj, _ := json.Marshal(want)
		if got := readJSON(b, !eof, int64(i), -1, info, eof); string(got) != string(wj) {
			t.Fatalf("%q:\nreadJSON      %s\nencoding/json %s", b, got, wj)
		}
	}
}

// isTextSlow is what appendText accepts, as it was written before it
// escaped in the same pass.
func isTextSlow(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	cost := 0
	for _, c := range b {
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == '\f':
			cost += 2
		case c < 0x20 || c == 0x7f:
			return false
		case c == '"' || c == '\\':
			cost += 2
		case c == '<' || c == '>' || c == '&':
			cost += 6
		default:
			cost++
		}
	}
	return cost <= (len(b)+2)/3*4
}

// TestStatJSON: file.stat's own encoder writes what encoding/json writes
// for its Entry.
func TestStatJSON(t *testing.T) {
	for i, c := range []struct {
		name, target string
		mode         fs.FileMode
	}{
		{"a.txt", "", 0o644}, {"<b>&\"q\"", "../x\u2028y", fs.ModeSymlink | 0o777}, {"d", "", fs.ModeDir | 0o7},
		{"bad\xff", "", fs.ModeNamedPipe | 0o600 | fs.ModeSetuid}, {"ü", "t", 0},
	} {
		info := fsafe.Info{Name: c.name, Mode: c.mode, Size: int64(i) * 1000, ModTime: time.Unix(int64(i)*1e8, int64(i))}
		e := entryOf(info)
		e.Path, e.Target, e.Mode = "/h/"+c.name, c.target, fmt.Sprintf("%04o", c.mode.Perm())
		want, _ := json.Marshal(e)
		if got := statJSON(c.name, "/h/"+c.name, c.target, info); string(got) != string(want) {
			t.Errorf("statJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

// TestPlain8: appendText's eight-byte test says "plain" exactly when no
// byte of the eight is one it must look at, on words mixing plain bytes
// with each byte it looks at and its neighbours.
func TestPlain8(t *testing.T) {
	look := func(c byte) bool { return textCost[c] != 1 || c == 0xe2 }
	var near []byte
	for c := range 256 {
		if look(byte(c)) {
			near = append(near, byte(c-1), byte(c), byte(c+1))
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	var w [8]byte
	for i := range 2_000_000 {
		want := true
		for j := range w {
			switch {
			case i%4 == 0:
				w[j] = byte(r.Uint32())
			case r.IntN(6) == 0:
				w[j] = near[r.IntN(len(near))]
			default:
				w[j] = byte(0x20 + r.IntN(0x5f))
			}
			want = want && !look(w[j])
		}
		if got := plain8(w[:]); got != want {
			t.Fatalf("plain8(% x) = %v, want %v", w, got, want)
		}
	}
}

// BenchmarkReadJSON encodes the 4 KiB text of make bench's file.read
// case as file.read's result.
func BenchmarkReadJSON(b *testing.B) {
	line := "the quick brown fox jumps over the lazy dog; 0123456789 abcdefghij\n"
	text := []byte(strings.Repeat(line, 4096/len(line)+1)[:4096])
	info := fsafe.Info{Size: 4096, ModTime: time.Unix(1700000000, 120)}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		readJSON(text, false, 0, -1, info, true)
	}
}
