package jsonrpc

import (
	"bytes"
	"fmt"
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
