package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// rotate renames the active file to the next rotated name, opens a fresh
// active file and removes the oldest rotated files beyond MaxFiles. The
// chain continues: the next record links to the last one written.
func (l *Log) rotate() error {
	files, err := rotated(l.dir)
	if err != nil {
		return err
	}
	next := 1
	if len(files) > 0 {
		next = rotatedIndex(files[len(files)-1]) + 1
	}
	if err := l.f.Sync(); err != nil {
		return unwritable(l.f.Name(), err)
	}
	l.f.Close()
	l.f = nil
	active := filepath.Join(l.dir, ActiveName)
	if err := os.Rename(active, fmt.Sprintf("%s.%06d", active, next)); err != nil {
		// Keep appending to the active file; the next write tries again.
		if f, ferr := os.OpenFile(active, os.O_RDWR|os.O_APPEND, 0); ferr == nil {
			l.f = f
		}
		return unwritable(active, err)
	}
	f, err := os.OpenFile(active, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, fileMode)
	if err != nil {
		return unwritable(active, err)
	}
	l.f, l.size = f, 0
	if err := syncDir(l.dir); err != nil {
		return unwritable(l.dir, err)
	}
	files = append(files, active+fmt.Sprintf(".%06d", next))
	for l.opt.MaxFiles > 0 && len(files) > l.opt.MaxFiles {
		os.Remove(files[0])
		files = files[1:]
	}
	return nil
}

// rotated returns the rotated files in dir, oldest first.
func rotated(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, ActiveName+".*"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range m {
		if rotatedIndex(p) > 0 {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return rotatedIndex(out[i]) < rotatedIndex(out[j]) })
	return out, nil
}

func rotatedIndex(p string) int {
	s := strings.TrimPrefix(filepath.Base(p), ActiveName+".")
	n, err := strconv.Atoi(s)
	if err != nil || len(s) < 6 {
		return 0
	}
	return n
}

// Files returns the log's files in chain order: rotated files oldest
// first, then the active file.
func Files(dir string) ([]string, error) {
	files, err := rotated(dir)
	if err != nil {
		return nil, err
	}
	active := filepath.Join(dir, ActiveName)
	if _, err := os.Stat(active); err == nil {
		files = append(files, active)
	}
	return files, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
