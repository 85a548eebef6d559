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
	return readJSON(buf[:got], !eof, p.Offset, -1, info, eof), nil
}

// readBufs holds the buffers of small reads: a 4 KiB read with its
// redaction context needs 20 KiB, and allocating (and clearing) it per
// call was a third of the service's garbage.
var readBufs = sync.Pool{New: func() any { b := make([]byte, pooledRead); return &b }}

const pooledRead = 64 << 10

// readBuf returns a buffer of n bytes and the function that gives it back.
// Nothing a handler returns may alias it: readJSON copies what it keeps.
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
		return readJSON(chunk, !eof, off, -1, info, eof), nil
	}
	keep := textPrefix(chunk, eof)
	redacted, newEnd, counts := sc.Range(buf, start, start+len(keep))
	length := newEnd - start
	eof = off+int64(length) >= info.Size
	if err := service.Redacted(call, counts); err != nil {
		return nil, errs.E(op, errs.Failed, errs.ReasonAudit, errs.Hint("the read's redactions could not be recorded; try again"), err)
	}
	return readJSON(redacted, false, off, length, info, eof), nil
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

// readJSON returns file.read's result for b, read at off, as
// encoding/json writes a ReadResult: the content goes from the read's
// buffer into the JSON, not through a string and reflection. The content
// is b as text when it is text whose JSON form is no larger than its
// base64 form (with cut, less up to three bytes of a UTF-8 sequence cut
// at its end, so it stays text), else base64 of all of b. length is the
// number of file bytes the content stands for; -1: the bytes encoded.
func readJSON(b []byte, cut bool, off int64, length int, info fsafe.Info, eof bool) json.RawMessage {
	// Room for text with a few escapes, or for base64 when b starts as
	// binary data does: the answer is most of what a read allocates, and
	// so sets the collector's pace. Text that escapes a lot grows it once.
	size := len(b) + len(b)/16
	if redact.IsBinary(b[:min(len(b), 512)]) {
		size = base64.StdEncoding.EncodedLen(len(b))
	}
	out := make([]byte, 0, size+160)
	out = append(out, `{"content":`...)
	t, enc := b, "utf-8"
	if cut {
		t = textPrefix(b, false)
	}
	out, ok := appendText(out, t)
	if !ok {
		t, enc = b, "base64"
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, b)
		out = append(out, '"')
	}
	if length < 0 {
		length = len(t)
	}
	out = append(out, `,"encoding":"`...)
	out = append(out, enc...)
	out = append(out, `","offset":`...)
	out = strconv.AppendInt(out, off, 10)
	out = append(out, `,"length":`...)
	out = strconv.AppendInt(out, int64(length), 10)
	out = append(out, `,"size":`...)
	out = strconv.AppendInt(out, info.Size, 10)
	out = append(out, `,"mtime":"`...)
	out = appendMtime(out, info.ModTime)
	out = append(out, `","eof":`...)
	out = strconv.AppendBool(out, eof)
	return append(out, '}')
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

// appendText appends b as a JSON string, escaped as encoding/json escapes
// it (<, > and &, U+2028 and U+2029 included), when b is text: valid
// UTF-8 without control characters other than tab, newline, carriage
// return and form feed, whose escaped form costs no more than base64
// (counting the bytes of a multi-byte character one each). Otherwise it
// reports false, and dst is unchanged. One pass does both: the check
// and the copy were three passes and a string.
func appendText(dst, b []byte) ([]byte, bool) {
	if !utf8.Valid(b) {
		return dst, false
	}
	dst0, seps := dst, 0
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(b); i++ {
		// Eight plain bytes at a time, then byte by byte from the block
		// that holds one to look at.
		for i+8 <= len(b) && plain8(b[i:i+8:i+8]) {
			i += 8
		}
		if i == len(b) {
			break
		}
		c := b[i]
		if textCost[c] == 1 && c != 0xe2 {
			continue
		}
		var esc string
		switch c {
		case 0xe2:
			// U+2028 and U+2029 (e2 80 a8, e2 80 a9) end a line in JavaScript.
			if i+2 >= len(b) || b[i+1] != 0x80 || b[i+2]&^1 != 0xa8 {
				continue
			}
			esc = `\u2028`
			if b[i+2] == 0xa9 {
				esc = `\u2029`
			}
			dst = append(append(dst, b[start:i]...), esc...)
			seps++
			i += 2
			start = i + 1
			continue
		case '\t':
			esc = `\t`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\f':
			esc = `\f`
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		default: // a control character: binary
			return dst0, false
		}
		dst = append(append(dst, b[start:i]...), esc...)
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	// The escaped text's length, as the cost counts it (a line
	// separator's three bytes cost three, not its six).
	if len(dst)-len(dst0)-1-3*seps > (len(b)+2)/3*4 {
		return dst0, false
	}
	return append(dst, '"'), true
}

// plain8 reports whether none of b's eight bytes is one appendText looks
// at (isPlain): eight loads and no branch between them.
func plain8(b []byte) bool {
	_ = b[7]
	return isPlain[b[0]]&isPlain[b[1]]&isPlain[b[2]]&isPlain[b[3]]&
		isPlain[b[4]]&isPlain[b[5]]&isPlain[b[6]]&isPlain[b[7]] != 0
}

// isPlain is 1 for a byte appendText copies as it is and need not look
// at: not a control character, '"', '\\', '<', '>', '&', nor 0xe2 (the
// start of U+2028 and U+2029).
var isPlain = func() (t [256]uint8) {
	for c := range t {
		if textCost[c] == 1 && c != 0xe2 {
			t[c] = 1
		}
	}
	return t
}()

// textCost is what each byte of text costs in JSON (as appendText
// counts: bytes of multi-byte characters one each), and -1 for the
// control characters that make a chunk binary.
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
