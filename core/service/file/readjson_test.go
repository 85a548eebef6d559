package file

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"testing"
	"time"

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
		n := r.IntN(40)
		for range n {
			if r.IntN(3) == 0 {
				b = append(b, alphabet[r.IntN(len(alphabet))]...)
			} else {
				b = append(b, byte('a'+r.IntN(26)))
			}
		}
		eof := i%2 == 0
		content, text := encode(b, eof)
		want := ReadResult{Offset: int64(i), Length: len(content), Size: info.Size, Mtime: FormatMtime(info.ModTime), EOF: eof, Encoding: "base64"}
		if text {
			want.Content, want.Encoding = string(content), "utf-8"
		} else {
			want.Content = base64.StdEncoding.EncodeToString(content)
		}
		wj, _ := json.Marshal(want)
		if got := readJSON(content, text, int64(i), len(content), info, eof); string(got) != string(wj) {
			t.Fatalf("%q:\nreadJSON      %s\nencoding/json %s", b, got, wj)
		}
	}
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
