package mcpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service/file"
)

// Limits on what one tool call holds in memory. The reference server reads
// any file whole; Carapace refuses a whole read past these (head and tail
// read only what they need, at any size).
const (
	maxTextRead  = 8 << 20  // read_text_file, read_multiple_files (each), edit_file
	maxMediaRead = 16 << 20 // read_media_file, before base64
	chunk        = file.MaxChunk
	maxWriteOne  = 256 << 10 // content written with one file.write; more goes in parts
)

// readChunk reads one chunk at off.
func (s *Server) readChunk(ctx context.Context, p string, off, n int64) (*file.ReadResult, []byte, error) {
	var res file.ReadResult
	if err := s.link.call(ctx, "file.read", map[string]any{"path": p, "offset": off, "length": n}, &res); err != nil {
		return nil, nil, err
	}
	b := []byte(res.Content)
	if res.Encoding == "base64" {
		var err error
		if b, err = base64.StdEncoding.DecodeString(res.Content); err != nil {
			return nil, nil, fmt.Errorf("file.read %s: chunk at %d: %w", p, off, err)
		}
	}
	return &res, b, nil
}

// readAll reads a whole file of at most limit bytes, and its mtime.
func (s *Server) readAll(ctx context.Context, p string, limit int64) ([]byte, string, error) {
	var buf bytes.Buffer
	for off := int64(0); ; {
		res, b, err := s.readChunk(ctx, p, off, chunk)
		if err != nil {
			return nil, "", err
		}
		if res.Size > limit {
			return nil, "", errs.E("read "+p, errs.TooLarge, errs.ReasonFileTooLarge,
				errs.Hint(fmt.Sprintf("the file is %s; this tool reads at most %s whole: use read_text_file with head or tail", formatSize(res.Size), formatSize(limit))))
		}
		buf.Write(b)
		off += int64(res.Length)
		if res.EOF || res.Length == 0 {
			return buf.Bytes(), res.Mtime, nil
		}
	}
}

// readText reads a whole file as text: invalid UTF-8 becomes U+FFFD, as
// Node's utf-8 decoding does.
func (s *Server) readText(ctx context.Context, p string) (string, string, error) {
	b, mtime, err := s.readAll(ctx, p, maxTextRead)
	if err != nil {
		return "", "", err
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), mtime, nil
}

func linesTooLong(p string) error {
	return errs.E("read "+p, errs.TooLarge, errs.ReasonLinesTooLong,
		errs.Hint(fmt.Sprintf("the lines asked for span more than %s; ask for fewer lines", formatSize(maxTextRead))))
}

// headLines returns the first n lines, reading only as far as they go:
// complete lines, then the unterminated rest when fewer than n ended.
func (s *Server) headLines(ctx context.Context, p string, n int) (string, error) {
	var buf []byte
	for off := int64(0); bytes.Count(buf, []byte{'\n'}) < n; {
		res, b, err := s.readChunk(ctx, p, off, 64<<10)
		if err != nil {
			return "", err
		}
		buf = append(buf, b...)
		off += int64(res.Length)
		if res.EOF || res.Length == 0 {
			break
		}
		if len(buf) > maxTextRead {
			return "", linesTooLong(p)
		}
	}
	lines := strings.Split(strings.ToValidUTF8(string(buf), "\uFFFD"), "\n")
	rest := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(lines) > n {
		lines = lines[:n]
	}
	if len(lines) < n && rest != "" {
		lines = append(lines, rest)
	}
	return strings.Join(lines, "\n"), nil
}

// tailLines returns the last n pieces of the file split at newlines
// (CRLF taken as LF), reading backwards only until n newlines are in hand:
// a file ending in a newline gives an empty last piece, as the reference
// server's tail does.
func (s *Server) tailLines(ctx context.Context, p string, n int) (string, error) {
	first, _, err := s.readChunk(ctx, p, 0, 1)
	if err != nil {
		return "", err
	}
	pos := first.Size
	var buf []byte
	for pos > 0 && bytes.Count(buf, []byte{'\n'}) < n {
		size := min(int64(64<<10), pos)
		pos -= size
		var b []byte
		for got := int64(0); got < size; {
			res, c, err := s.readChunk(ctx, p, pos+got, size-got)
			if err != nil {
				return "", err
			}
			b = append(b, c...)
			got += int64(res.Length)
			if res.EOF || res.Length == 0 {
				break
			}
		}
		buf = append(b, buf...)
		if len(buf) > maxTextRead && bytes.Count(buf, []byte{'\n'}) < n {
			return "", linesTooLong(p)
		}
	}
	text := strings.ReplaceAll(strings.ToValidUTF8(string(buf), "\uFFFD"), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n"), nil
}

// writeText replaces (or creates) p with content. Up to maxWriteOne bytes
// go in one atomic file.write; more go to a part file beside p that one
// file.move puts in place, so a reader sees the old file or the new one.
// ifMtime, when set, refuses the write if the file changed since it was
// read (edit_file).
func (s *Server) writeText(ctx context.Context, p, content, ifMtime string) error {
	if len(content) <= maxWriteOne {
		params := map[string]any{"path": p, "content": content, "mode": "overwrite"}
		if ifMtime != "" {
			params["if_mtime"] = ifMtime
		}
		return s.link.call(ctx, "file.write", params, nil)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	part := path.Join(path.Dir(p), path.Base(p)+".carapace-part-"+hex.EncodeToString(rnd[:]))
	b := []byte(content)
	mode := "create"
	for len(b) > 0 {
		n := min(len(b), maxWriteOne)
		err := s.link.call(ctx, "file.write", map[string]any{
			"path": part, "content": base64.StdEncoding.EncodeToString(b[:n]), "encoding": "base64", "mode": mode,
		}, nil)
		if err != nil {
			s.link.call(context.WithoutCancel(ctx), "file.delete", map[string]any{"path": part}, nil)
			return err
		}
		b, mode = b[n:], "append"
	}
	if err := s.link.call(ctx, "file.move", map[string]any{"from": part, "to": p, "replace": true}, nil); err != nil {
		s.link.call(context.WithoutCancel(ctx), "file.delete", map[string]any{"path": part}, nil)
		return err
	}
	return nil
}

// listAll lists a directory, every page.
func (s *Server) listAll(ctx context.Context, p string) ([]file.Entry, error) {
	var out []file.Entry
	after := ""
	for {
		var res file.ListResult
		params := map[string]any{"path": p}
		if after != "" {
			params["after"] = after
		}
		if err := s.link.call(ctx, "file.list", params, &res); err != nil {
			return nil, err
		}
		out = append(out, res.Entries...)
		if !res.Truncated || len(res.Entries) == 0 {
			return out, nil
		}
		after = res.Entries[len(res.Entries)-1].Name
	}
}
