package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"
)

// PollInterval is how often Tail looks for new records when following.
const PollInterval = 250 * time.Millisecond

// Tail calls fn with the last n records in dir, oldest first, and then,
// if follow is set, with each new record as it is written, across
// rotations, until ctx is done or fn returns an error. line is the record
// as stored.
func Tail(ctx context.Context, dir string, n int, follow bool, fn func(r Record, line []byte) error) error {
	files, err := Files(dir)
	if err != nil {
		return err
	}
	var lines [][]byte
	for i := len(files) - 1; i >= 0 && len(lines) < n; i-- {
		b, err := os.ReadFile(files[i])
		if err != nil {
			return err
		}
		ls := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
		if len(ls) == 1 && len(ls[0]) == 0 {
			ls = nil
		}
		lines = append(ls, lines...)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		if err := emit(l, fn); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}
	return follower{dir: dir, fn: fn}.run(ctx)
}

func emit(line []byte, fn func(Record, []byte) error) error {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return nil // a torn or foreign line: verify reports it
	}
	return fn(r, line)
}

type follower struct {
	dir string
	fn  func(Record, []byte) error
}

// run follows the active file from its current end. When the file it reads
// has been rotated, it finishes it, reads every file rotated after it, and
// goes on with the new active file from the top.
func (fo follower) run(ctx context.Context) error {
	path := filepath.Join(fo.dir, ActiveName)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	rd := &lineReader{r: bufio.NewReader(f), fn: fo.fn}
	for {
		if err := rd.drain(); err != nil {
			return err
		}
		if !moved(f, path) {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			continue
		}
		if err := rd.drain(); err != nil { // written before the rename
			return err
		}
		next, err := fo.after(f)
		if err != nil {
			return err
		}
		f.Close()
		f = next
		rd = &lineReader{r: bufio.NewReader(f), fn: fo.fn}
	}
}

// after returns the file that follows f in the chain: the next rotated
// file if f was rotated more than once ago, else the active file.
func (fo follower) after(f *os.File) (*os.File, error) {
	cur, err := f.Stat()
	if err != nil {
		return nil, err
	}
	files, err := Files(fo.dir)
	if err != nil {
		return nil, err
	}
	for i, p := range files {
		fi, err := os.Stat(p)
		if err == nil && os.SameFile(cur, fi) && i+1 < len(files) {
			return os.Open(files[i+1])
		}
	}
	// f was removed by retention, or not found: resume at the oldest
	// rotated file still there.
	return os.Open(files[0])
}

// moved reports whether path no longer names f.
func moved(f *os.File, path string) bool {
	cur, err1 := f.Stat()
	now, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(cur, now)
}

// lineReader hands complete lines to fn, keeping a partial last line for
// the next drain.
type lineReader struct {
	r       *bufio.Reader
	partial []byte
	fn      func(Record, []byte) error
}

func (lr *lineReader) drain() error {
	for {
		chunk, err := lr.r.ReadBytes('\n')
		lr.partial = append(lr.partial, chunk...)
		if err != nil {
			return nil
		}
		if err := emit(bytes.TrimSuffix(lr.partial, []byte("\n")), lr.fn); err != nil {
			return err
		}
		lr.partial = nil
	}
}
