package app

import (
	"bufio"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is an XDG desktop entry (the Desktop Entry Specification, 1.5)
// of Type=Application.
type Entry struct {
	ID       string // the desktop file id: its path under applications/, '/' → '-'
	Path     string
	Name     string
	Exec     string
	TryExec  string
	Terminal bool
	Hidden   bool
	Type     string
}

// maxEntrySize bounds a desktop file read; real ones are a few KiB.
const maxEntrySize = 256 << 10

// parseEntry reads the [Desktop Entry] group of a desktop file. Localized
// keys (Name[de]) and other groups (actions) are ignored.
func parseEntry(r io.Reader) Entry {
	var e Entry
	sc := bufio.NewScanner(io.LimitReader(r, maxEntrySize))
	sc.Buffer(make([]byte, 0, 4096), maxEntrySize)
	group := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			if group == "Desktop Entry" {
				break // the main group ends at the next header
			}
			group = strings.TrimSuffix(line[1:], "]")
			continue
		}
		if group != "Desktop Entry" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		setKey(&e, strings.TrimSpace(k), unescapeValue(strings.TrimSpace(v)))
	}
	return e
}

func setKey(e *Entry, k, v string) {
	switch k {
	case "Type":
		e.Type = v
	case "Name":
		e.Name = v
	case "Exec":
		e.Exec = v
	case "TryExec":
		e.TryExec = v
	case "Terminal":
		e.Terminal = v == "true"
	case "Hidden":
		e.Hidden = v == "true"
	}
}

// unescapeValue undoes a string value's escapes: \s \n \t \r \\. Other
// backslashes are kept. (Exec's own quoting rules apply after this.)
func unescapeValue(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b.WriteByte(v[i])
			continue
		}
		i++
		switch v[i] {
		case 's':
			b.WriteByte(' ')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// scan returns the desktop entries visible in dataDirs (most important
// first, $XDG_DATA_HOME then $XDG_DATA_DIRS), by id: the first file with
// an id wins, and a Hidden one removes the id. Only usable applications
// are returned, sorted by id.
func scan(dataDirs []string, lookPath func(string) (string, error)) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for _, d := range dataDirs {
		root := filepath.Join(d, "applications")
		filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(p, ".desktop") {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			id := strings.ReplaceAll(rel, string(filepath.Separator), "-")
			if seen[id] {
				return nil
			}
			seen[id] = true
			e, ok := readEntry(p)
			if ok && e.usable(lookPath) {
				e.ID, e.Path = id, p
				out = append(out, e)
			}
			return nil
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func readEntry(p string) (Entry, bool) {
	f, err := os.Open(p)
	if err != nil {
		return Entry{}, false
	}
	defer f.Close()
	return parseEntry(f), true
}

// usable reports whether e is an application that can be started: not
// hidden, with an Exec, and with its TryExec program present.
func (e Entry) usable(lookPath func(string) (string, error)) bool {
	if e.Type != "Application" || e.Hidden || e.Exec == "" {
		return false
	}
	if e.TryExec != "" {
		if _, err := lookPath(e.TryExec); err != nil {
			return false
		}
	}
	return true
}

// matches reports whether s names e: its Name (case-insensitively) or
// its desktop id, with or without ".desktop".
func (e Entry) matches(s string) bool {
	return s != "" && (strings.EqualFold(e.Name, s) || e.ID == s || strings.TrimSuffix(e.ID, ".desktop") == s)
}
