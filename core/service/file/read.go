package file

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
)

type readParams struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// ReadResult is file.read's result. Length is the number of file bytes
// Content stands for (with redaction it may differ from the length asked
// for and from Content's); the next chunk starts at Offset+Length.
type ReadResult struct {
	Content  string `json:"content"`
	Encoding string `json:"encoding"` // "utf-8" or "base64"
	Offset   int64  `json:"offset"`
	Length   int    `json:"length"`
	Size     int64  `json:"size"`
	Mtime    string `json:"mtime"`
	EOF      bool   `json:"eof"`
}

func (s *Service) read(ctx context.Context, call *service.Call) (any, error) {
	const op = "file.read"
	var p readParams
	if err := service.Decode(call.Params, &p); err != nil {
		return nil, errs.E(op, err)
	}
	t, err := s.resolve(call, op, verbGet, p.Path)
	if err != nil {
		return nil, err
	}
	if p.Offset < 0 || p.Length < 0 {
		return nil, errs.E(op, errs.InvalidParams, errs.ReasonBadRange, errs.Hint("offset and length must not be negative"))
	}
	n := p.Length
	if n == 0 {
		n = DefaultChunk
	}
	n = min(n, MaxChunk)
	f, info, err := s.openReader(call, op, t)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read what the file holds, not a whole chunk's worth, unless it has
	// grown since the fstat; a read at or past the end returns no bytes.
	n = max(0, min(n, info.Size-p.Offset+1))
	sc := s.redactor(call, t.f)
	if sc != nil {
		return s.readRedacted(call, op, f, info, p.Offset, n, sc)
	}
	buf, done := readBuf(int(n))
	defer done()
	got, err := f.ReadAt(buf, p.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fsError(op, err)
	}
	eof := p.Offset+int64(got) >= info.Size
	content, text := encode(buf[:got], eof)
	return readJSON(content, text, p.Offset, len(content), info, eof), nil
}

// readBufs holds the buffers of small reads: a 4 KiB read with its
// redaction context needs 20 KiB, and allocating (and clearing) it per
// call was a third of the service's garbage.
var readBufs = sync.Pool{New: func() any { b := make([]byte, pooledRead); return &b }}

const pooledRead = 64 << 10

// readBuf returns a buffer of n bytes and the function that gives it back.
// Nothing a handler returns may alias it: encode copies what it keeps.
func readBuf(n int) ([]byte, func()) {
	if n > pooledRead {
		return make([]byte, n), func() {}
	}
	p := readBufs.Get().(*[]byte)
	return (*p)[:n], func() { readBufs.Put(p) }
}

// redactContext is how many bytes either side of a chunk are read to
// scan it for secrets: a secret cut by the chunk's edge is seen whole.
const redactContext = 16 << 10

// readRedacted is file.read for a caller whose reads are redacted: the
// chunk of n bytes at off is read with redactContext bytes either side,
// and, unless it is binary (redact.IsBinary: not scanned as text), its
// secrets are replaced (redact.Scanner.Range). A secret that starts in
// the chunk and runs past its end ends the chunk where it starts, so the
// next read sees it whole; Length counts the file bytes covered, as ever.
func (s *Service) readRedacted(call *service.Call, op string, f io.ReaderAt, info fsafe.Info, off, n int64, sc *redact.Scanner) (any, error) {
	lo := max(0, off-redactContext)
	buf, done := readBuf(int(off - lo + n + redactContext))
	defer done()
	got, err := f.ReadAt(buf, lo)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fsError(op, err)
	}
	buf = buf[:got]
	start := int(min(off-lo, int64(got)))
	end := int(min(int64(start)+n, int64(got)))
	chunk := buf[start:end]
	eof := off+int64(len(chunk)) >= info.Size
	if redact.IsBinary(chunk) {
		content, text := encode(chunk, eof)
		return readJSON(content, text, off, len(content), info, eof), nil
	}
	keep := textPrefix(chunk, eof)
	redacted, newEnd, counts := sc.Range(buf, start, start+len(keep))
	length := newEnd - start
	eof = off+int64(length) >= info.Size
	content, text := encode(redacted, true)
	if err := service.Redacted(call, counts); err != nil {
		return nil, errs.E(op, errs.Failed, errs.ReasonAudit, errs.Hint("the read's redactions could not be recorded; try again"), err)
	}
	return readJSON(content, text, off, length, info, eof), nil
}

// openContent opens t's file for its content (read or append): a regular
// file with one link only. A file with more than one hard link may be the
// same inode as a file outside the folders, made by someone else; nothing
// can tell which name is the "real" one, so its content is refused.
func (s *Service) openContent(call *service.Call, op, verb string, t target, flag int) (*os.File, fsafe.Info, error) {
	f, err := t.f.root.Open(t.rel, flag, s.check(call, op, verb, t))
	if err != nil {
		return nil, fsafe.Info{}, fsError(op, err)
	}
	info, err := fsafe.Stat(f)
	if err == nil {
		err = contentOK(op, t, info)
	} else {
		err = fsError(op, err)
	}
	if err != nil {
		f.Close()
		return nil, info, err
	}
	return f, info, nil
}

// openReader opens t's file for file.read as openContent does, with a bare
// descriptor: a read is one pread, and an *os.File would cost two more
// system calls (its mode check, the poller's registration) than the read.
func (s *Service) openReader(call *service.Call, op string, t target) (fdReader, fsafe.Info, error) {
	fd, err := t.f.root.OpenFD(t.rel, os.O_RDONLY, s.check(call, op, verbGet, t))
	if err != nil {
		return -1, fsafe.Info{}, fsError(op, err)
	}
	info, err := fsafe.StatFD(fd, t.abs)
	if err == nil {
		err = contentOK(op, t, info)
	} else {
		err = fsError(op, err)
	}
	if err != nil {
		syscall.Close(fd)
		return -1, info, err
	}
	return fdReader(fd), info, nil
}

// fdReader reads a regular file's bare descriptor at offsets. A short
// read is the end of the file (a regular file's pread returns less only
// there), so reading a whole small file is one system call, not two.
type fdReader int

func (f fdReader) ReadAt(b []byte, off int64) (int, error) {
	for {
		n, err := syscall.Pread(int(f), b, off)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n < len(b):
			return n, io.EOF
		}
		return n, nil
	}
}

func (f fdReader) Close() error { return syscall.Close(int(f)) }

// contentOK refuses a file whose content is not to be read or written: a
// directory, anything but a regular file, a file with more than one link.
func contentOK(op string, t target, info fsafe.Info) error {
	switch {
	case info.Mode.IsDir():
		return errs.E(op, errs.InvalidParams, errs.ReasonIsDirectory, errs.Hint("use file.list for a directory"), fmt.Errorf("%s is a directory", t.abs))
	case !info.Mode.IsRegular():
		return errs.E(op, errs.Forbidden, errs.ReasonNotRegular, errs.Hint("only regular files can be read or written"), fmt.Errorf("%s is a %v", t.abs, info.Mode.Type()))
	case info.Nlink > 1:
		return errs.E(op, errs.Forbidden, errs.ReasonHardLink, map[string]any{"nlink": info.Nlink},
			errs.Hint("the file has other hard links, possibly outside the allowed folders; copy it to a new file to use it here"),
			fmt.Errorf("%s has %d hard links", t.abs, info.Nlink))
	}
	return nil
}

// encode returns what of b a read returns, and whether as UTF-8 text:
// text when it is text whose JSON form is no larger than its base64
// form, else base64 of all of b. A chunk cut inside a UTF-8 sequence
// gives back up to three bytes so it stays text; the content's length is
// the number of bytes encoded.
func encode(b []byte, eof bool) (content []byte, text bool) {
	if t := textPrefix(b, eof); isText(t) {
		return t, true
	}
	return b, false
}

// readJSON returns file.read's result for content (as text or to be
// base64-encoded), standing for length file bytes from off, as
// encoding/json writes a ReadResult: the content goes from the read's
// buffer into the JSON, not through a string and reflection.
func readJSON(content []byte, text bool, off int64, length int, info fsafe.Info, eof bool) json.RawMessage {
	b := make([]byte, 0, len(content)+len(content)/3+160)
	b = append(b, `{"content":`...)
	enc := "base64"
	if text {
		b, enc = appendText(b, content), "utf-8"
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, content)
		b = append(b, '"')
	}
	b = append(b, `,"encoding":"`...)
	b = append(b, enc...)
	b = append(b, `","offset":`...)
	b = strconv.AppendInt(b, off, 10)
	b = append(b, `,"length":`...)
	b = strconv.AppendInt(b, int64(length), 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, info.Size, 10)
	b = append(b, `,"mtime":"`...)
	b = appendMtime(b, info.ModTime)
	b = append(b, `","eof":`...)
	b = strconv.AppendBool(b, eof)
	return append(b, '}')
}

// textPrefix returns b without the start of a UTF-8 sequence cut at its
// end (up to three bytes), when b is not the file's last chunk and is
// valid UTF-8 but for them; else b.
func textPrefix(b []byte, eof bool) []byte {
	t := b
	if !eof {
		for i := 0; i < 3 && len(t) > 0 && !utf8.Valid(t); i++ {
			t = t[:len(t)-1]
		}
		if !utf8.Valid(t) || (len(t) == 0 && len(b) > 0) {
			t = b
		}
	}
	return t
}

// isText reports whether b is valid UTF-8 without control characters other
// than tab, newline, carriage return and form feed, and whether escaping it
// for JSON (as encoding/json does, <>& included) costs no more than base64.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	cost := 0
	for _, c := range b {
		k := textCost[c]
		if k < 0 {
			return false
		}
		cost += int(k)
	}
	return cost <= (len(b)+2)/3*4
}

// textCost is what each byte of text costs in JSON (as isText counts:
// bytes of multi-byte characters one each), and -1 for the control
// characters that make a chunk binary.
var textCost = func() (t [256]int8) {
	for c := range t {
		switch {
		case c == '\t' || c == '\n' || c == '\r' || c == '\f':
			t[c] = 2
		case c < 0x20 || c == 0x7f:
			t[c] = -1
		case c == '"' || c == '\\':
			t[c] = 2
		case c == '<' || c == '>' || c == '&':
			t[c] = 6
		default:
			t[c] = 1
		}
	}
	return t
}()

// appendText appends b, text isText accepted, as a JSON string, escaped as
// encoding/json escapes it (<, > and &, U+2028 and U+2029 included).
func appendText(dst, b []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		var esc string
		switch {
		case textCost[c] == 1 && c != 0xe2:
			continue
		case c == 0xe2:
			// U+2028 and U+2029 (e2 80 a8, e2 80 a9) end a line in JavaScript.
			if i+2 >= len(b) || b[i+1] != 0x80 || b[i+2]&^1 != 0xa8 {
				continue
			}
			esc = `\u2028`
			if b[i+2] == 0xa9 {
				esc = `\u2029`
			}
			dst = append(append(dst, b[start:i]...), esc...)
			i += 2
			start = i + 1
			continue
		case c == '\t':
			esc = `\t`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\f':
			esc = `\f`
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '<':
			esc = `\u003c`
		case c == '>':
			esc = `\u003e`
		case c == '&':
			esc = `\u0026`
		default: // not text: isText refused it
			esc = `\ufffd`
		}
		dst = append(append(dst, b[start:i]...), esc...)
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}
