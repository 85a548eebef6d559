package stream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(r *Reader) (lines []string, tooLarge int, err error) {
	for {
		l, err := r.Next()
		switch {
		case errors.Is(err, ErrTooLarge):
			tooLarge++
		case err != nil:
			return lines, tooLarge, err
		default:
			lines = append(lines, string(l))
		}
	}
}

func TestReader(t *testing.T) {
	in := "a\r\n\nbb\n" + strings.Repeat("x", 100) + "\nccc\n" + strings.Repeat("y", 5000) + "\nlast"
	lines, big, err := readAll(NewReader(strings.NewReader(in), 10))
	if err != io.EOF {
		t.Fatal(err)
	}
	if want := []string{"a", "bb", "ccc", "last"}; strings.Join(lines, ",") != strings.Join(want, ",") || big != 2 {
		t.Fatalf("lines %q, too large %d", lines, big)
	}
	// Exactly at the limit is fine.
	lines, big, _ = readAll(NewReader(strings.NewReader("0123456789\n"), 10))
	if len(lines) != 1 || big != 0 {
		t.Fatalf("line at the limit: %q %d", lines, big)
	}
}

func FuzzFramer(f *testing.F) {
	f.Add([]byte("a\nb\r\n\n"), 4)
	f.Add([]byte(strings.Repeat("z", 300)+"\nq"), 16)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<16 {
			max = 64
		}
		lines, _, err := readAll(NewReader(bytes.NewReader(data), max))
		if err != io.EOF {
			t.Fatalf("err %v", err)
		}
		for _, l := range lines {
			if len(l) > max || strings.ContainsRune(l, '\n') || strings.TrimSpace(l) == "" {
				t.Fatalf("bad line %q (max %d)", l, max)
			}
		}
	})
}
