package stream

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReaderBigLines(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "%d %s\n", i, strings.Repeat("x", (i%7)*40000))
	}
	r := NewReader(iotest.HalfReader(&b), 1<<20)
	for i := 0; i < 50; i++ {
		l, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if want := len(fmt.Sprintf("%d %s", i, strings.Repeat("x", (i%7)*40000))); len(l) != want {
			t.Fatalf("line %d: %d bytes, want %d", i, len(l), want)
		}
	}
}

// timeoutReader fails every other read with a passing error, as a read
// deadline does.
type timeoutReader struct {
	r    *strings.Reader
	tick bool
}

type passing struct{}

func (passing) Error() string   { return "deadline" }
func (passing) Timeout() bool   { return true }
func (passing) Temporary() bool { return true }

func (t *timeoutReader) Read(p []byte) (int, error) {
	t.tick = !t.tick
	if t.tick {
		return 0, passing{}
	}
	if len(p) > 3 {
		p = p[:3]
	}
	return t.r.Read(p)
}

// TestReaderSurvivesDeadlines: a line cut by a deadline continues on the
// next call, and an oversized one is still skipped whole.
func TestReaderSurvivesDeadlines(t *testing.T) {
	in := "first line\n" + strings.Repeat("z", 40) + "\nlast\n"
	r := NewReader(&timeoutReader{r: strings.NewReader(in)}, 20)
	var got []string
	tooLarge := 0
	for {
		l, err := r.Next()
		if err == nil {
			got = append(got, string(l))
			continue
		}
		if err == ErrTooLarge {
			tooLarge++
			continue
		}
		if _, ok := err.(passing); ok {
			continue
		}
		break
	}
	if strings.Join(got, "|") != "first line|last" || tooLarge != 1 {
		t.Fatalf("got %q, %d too large", got, tooLarge)
	}
}

// chunkReader returns its chunks one per read; an empty chunk is a
// passing error.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	s := c.chunks[0]
	if s == "" {
		c.chunks = c.chunks[1:]
		return 0, passing{}
	}
	n := copy(p, s)
	if n == len(s) {
		c.chunks = c.chunks[1:]
	} else {
		c.chunks[0] = s[n:]
	}
	return n, nil
}

// TestTooLargeReportedBeforeDeadline: a line that fills the buffer is
// reported at once, even when a deadline then interrupts the skipping of
// its rest (it used to be skipped silently, with no error for its sender).
func TestTooLargeReportedBeforeDeadline(t *testing.T) {
	r := NewReader(&chunkReader{chunks: []string{strings.Repeat("z", 64), "", "zz\nnext\n"}}, 20)
	var seen []string
	for {
		l, err := r.Next()
		switch {
		case err == nil:
			seen = append(seen, string(l))
			continue
		case err == ErrTooLarge:
			seen = append(seen, "too large")
			continue
		}
		if _, ok := err.(passing); ok {
			seen = append(seen, "deadline")
			continue
		}
		break
	}
	if got := strings.Join(seen, "|"); got != "too large|deadline|next" {
		t.Fatalf("got %s, want too large|deadline|next", got)
	}
}

// FuzzFramerInterrupted: a stream cut into arbitrary reads, with passing
// errors (deadlines) between some of them, gives exactly the messages and
// the too-large reports of the same stream read whole.
func FuzzFramerInterrupted(f *testing.F) {
	f.Add([]byte("a\nb\r\n\n"), 4, []byte{1, 0, 2})
	f.Add([]byte(strings.Repeat("z", 300)+"\nq\n"), 16, []byte{64, 0, 0, 3, 200})
	f.Add([]byte("{\"x\":1}\n"+strings.Repeat("y", 40)+"\nlast"), 20, []byte{21, 0, 5})
	f.Fuzz(func(t *testing.T, data []byte, max int, cuts []byte) {
		if max <= 0 || max > 1<<16 {
			max = 64
		}
		want := events(NewReader(bytes.NewReader(data), max))
		var chunks []string
		rest := string(data)
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) {
				if cuts[i] == 0 {
					chunks = append(chunks, "") // a deadline here
					continue
				}
				n = min(n, int(cuts[i]))
			}
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
		}
		got := events(NewReader(&chunkReader{chunks: chunks}, max))
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("interrupted %q\nwhole       %q", got, want)
		}
	})
}

// events reads r to the end: each message, and "too large" for each
// oversized one; deadlines are skipped.
func events(r *Reader) []string {
	var out []string
	for {
		l, err := r.Next()
		switch {
		case err == nil:
			out = append(out, string(l))
			continue
		case err == ErrTooLarge:
			out = append(out, "too large")
			continue
		}
		if _, ok := err.(passing); ok {
			continue
		}
		return out
	}
}
