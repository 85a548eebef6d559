package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gimme-tools/carapace/core/service/file"
	"github.com/gimme-tools/carapace/core/token"
)

// The file tools' input schemas are the reference server's, member for
// member, so a client that learnt them there sends the same arguments.
const (
	pathOnly     = `{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`
	readTextArgs = `{"type":"object","properties":{"path":{"type":"string"},"tail":{"description":"If provided, returns only the last N lines of the file","type":"number"},"head":{"description":"If provided, returns only the first N lines of the file","type":"number"}},"required":["path"]}`
	textOutput   = `{"type":"object","properties":{"content":{"type":"string"}},"required":["content"],"additionalProperties":false}`
	mediaOutput  = `{"type":"object","properties":{"content":{"type":"array","items":{"anyOf":[{"type":"object","properties":{"type":{"type":"string","enum":["image","audio"]},"data":{"type":"string"},"mimeType":{"type":"string"}},"required":["type","data","mimeType"],"additionalProperties":false},{"type":"object","properties":{"type":{"type":"string","const":"resource"},"resource":{"type":"object","properties":{"uri":{"type":"string"},"mimeType":{"type":"string"},"blob":{"type":"string"}},"required":["uri","blob"],"additionalProperties":false}},"required":["type","resource"],"additionalProperties":false}]}}},"required":["content"],"additionalProperties":false}`
)

var (
	readOnly = &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
	changes  = func(idem, destr bool) *mcp.ToolAnnotations {
		return &mcp.ToolAnnotations{IdempotentHint: idem, DestructiveHint: ptr(destr), OpenWorldHint: ptr(false)}
	}
	inFolders = " Works only inside the directories the agent's file token covers (list_allowed_directories); every call is checked by Carapace's router and file service and audited."
)

func ptr[T any](v T) *T { return &v }

func fileTool(name, title, desc, in, out string, ann *mcp.ToolAnnotations,
	run func(ctx context.Context, s *Server, req *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult) *tool {
	return &tool{aud: token.AudFile, run: run, def: &mcp.Tool{
		Name: name, Title: title, Description: desc + inFolders, Annotations: ann,
		InputSchema: json.RawMessage(in), OutputSchema: json.RawMessage(out),
	}}
}

func fileTools() []*tool {
	return []*tool{
		fileTool("read_file", "Read File (Deprecated)",
			"Read a whole file as text. Deprecated: use read_text_file.", readTextArgs, textOutput, readOnly, readTextFile),
		fileTool("read_text_file", "Read Text File",
			"Read a file as text, whatever its extension. With head, only its first N lines; with tail, only its last N lines (both read only what they need, at any file size).",
			readTextArgs, textOutput, readOnly, readTextFile),
		fileTool("read_media_file", "Read Media File",
			"Read a file as base64 with its MIME type: images and audio as image or audio content, anything else as an embedded resource.",
			pathOnly, mediaOutput, readOnly, readMediaFile),
		fileTool("read_multiple_files", "Read Multiple Files",
			"Read several files at once; each comes back under its path, and a file that cannot be read says why without stopping the others.",
			`{"type":"object","properties":{"paths":{"minItems":1,"type":"array","items":{"type":"string"},"description":"Array of file paths to read. Each path must be a string pointing to a valid file within allowed directories."}},"required":["paths"]}`,
			textOutput, readOnly, readMultipleFiles),
		fileTool("write_file", "Write File",
			"Create a file, or replace an existing one whole (atomically: a reader sees the old file or the new one).",
			`{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}`,
			textOutput, changes(true, true), writeFile),
		fileTool("edit_file", "Edit File",
			"Replace text in a file, edit by edit (each oldText must match exactly, or line by line ignoring indentation), and return a git-style diff. With dryRun, only the diff.",
			`{"type":"object","properties":{"path":{"type":"string"},"edits":{"type":"array","items":{"type":"object","properties":{"oldText":{"type":"string","description":"Text to search for - must match exactly"},"newText":{"type":"string","description":"Text to replace with"}},"required":["oldText","newText"]}},"dryRun":{"default":false,"description":"Preview changes using git-style diff format","type":"boolean"}},"required":["path","edits"]}`,
			textOutput, changes(false, true), editFile),
		fileTool("create_directory", "Create Directory",
			"Create a directory and any missing parents; one that exists already is fine.",
			pathOnly, textOutput, changes(true, false), createDirectory),
		fileTool("list_directory", "List Directory",
			"List a directory's entries, each marked [DIR] or [FILE].", pathOnly, textOutput, readOnly, listDirectory),
		fileTool("list_directory_with_sizes", "List Directory with Sizes",
			"List a directory's entries with their sizes, marked [DIR] or [FILE], sorted by name or by size, with totals.",
			`{"type":"object","properties":{"path":{"type":"string"},"sortBy":{"default":"name","description":"Sort entries by name or size","type":"string","enum":["name","size"]}},"required":["path"]}`,
			textOutput, readOnly, listDirectoryWithSizes),
		fileTool("directory_tree", "Directory Tree",
			"A recursive tree of a directory as JSON: each entry has name, type (file or directory) and, for a directory, children. excludePatterns are glob patterns to leave out.",
			`{"type":"object","properties":{"path":{"type":"string"},"excludePatterns":{"default":[],"type":"array","items":{"type":"string"}}},"required":["path"]}`,
			textOutput, readOnly, directoryTree),
		fileTool("move_file", "Move File",
			"Move or rename a file or directory; fails if the destination exists.",
			`{"type":"object","properties":{"source":{"type":"string"},"destination":{"type":"string"}},"required":["source","destination"]}`,
			textOutput, changes(false, true), moveFile),
		fileTool("search_files", "Search Files",
			"Find files and directories below a directory whose path relative to it matches a glob pattern ('*.go' at the top, '**/*.go' at any depth); returns their full paths.",
			`{"type":"object","properties":{"path":{"type":"string"},"pattern":{"type":"string"},"excludePatterns":{"default":[],"type":"array","items":{"type":"string"}}},"required":["path","pattern"]}`,
			textOutput, readOnly, searchFiles),
		fileTool("get_file_info", "Get File Info",
			"A file's or directory's metadata: size, modification time, type and permissions.",
			pathOnly, textOutput, readOnly, getFileInfo),
		fileTool("list_allowed_directories", "List Allowed Directories",
			"The directories this agent's file token covers, with everything below them.",
			`{"type":"object","properties":{}}`, textOutput, readOnly, listAllowedDirectories),
	}
}

// resolve turns a tool's path into the absolute path the file service is
// asked about: "~" is the owner's home; a relative path is taken inside
// the one allowed directory, and refused when there are several (which
// one it means would depend on their order).
func (s *Server) resolve(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("empty path\nhint: give an absolute path inside an allowed directory")
	case p == "~" || strings.HasPrefix(p, "~/"):
		if s.home == "" {
			return "", fmt.Errorf("%s: the home directory is unknown\nhint: give an absolute path", p)
		}
		return path.Join(s.home, p[1:]), nil
	case path.IsAbs(p):
		return path.Clean(p), nil
	}
	gs := s.link.fileGrants()
	if len(gs) == 1 {
		return path.Join(gs[0].Dir, p), nil
	}
	dirs := make([]string, len(gs))
	for i, g := range gs {
		dirs[i] = g.Dir
	}
	return "", fmt.Errorf("relative path %q\nhint: give an absolute path inside one of: %s", p, strings.Join(dirs, ", "))
}

// resolved resolves p and runs f with the absolute path; a path that
// cannot be resolved is a tool error.
func resolved(s *Server, p string, f func(abs string) *mcp.CallToolResult) *mcp.CallToolResult {
	abs, err := s.resolve(p)
	if err != nil {
		return failf("%v", err)
	}
	return f(abs)
}

type readTextParams struct {
	Path string   `json:"path"`
	Head *float64 `json:"head"`
	Tail *float64 `json:"tail"`
}

// lineCount is a head or tail as JavaScript reads it: 0, absent or not a
// positive number means "not given"; a fraction counts up.
func lineCount(v *float64) int {
	if v == nil || *v <= 0 {
		return 0
	}
	n := int(*v)
	if float64(n) < *v {
		n++
	}
	return n
}

func readTextFile(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[readTextParams](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		head, tail := lineCount(p.Head), lineCount(p.Tail)
		if head > 0 && tail > 0 {
			return failf("Cannot specify both head and tail parameters simultaneously")
		}
		var text string
		var err error
		switch {
		case tail > 0:
			text, err = s.tailLines(ctx, abs, tail)
		case head > 0:
			text, err = s.headLines(ctx, abs, head)
		default:
			text, _, err = s.readText(ctx, abs)
		}
		if err != nil {
			return refused(err)
		}
		return textResult(text)
	})
}

// mimeTypes are the media types read_media_file names by extension; any
// other file is application/octet-stream.
var mimeTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".bmp": "image/bmp", ".svg": "image/svg+xml",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".flac": "audio/flac",
}

func readMediaFile(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Path string }](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		b, _, err := s.readAll(ctx, abs, maxMediaRead)
		if err != nil {
			return refused(err)
		}
		mime, ok := mimeTypes[strings.ToLower(path.Ext(abs))]
		if !ok {
			mime = "application/octet-stream"
		}
		var c mcp.Content
		switch {
		case strings.HasPrefix(mime, "image/"):
			c = &mcp.ImageContent{Data: b, MIMEType: mime}
		case strings.HasPrefix(mime, "audio/"):
			c = &mcp.AudioContent{Data: b, MIMEType: mime}
		default:
			u := url.URL{Scheme: "file", Path: abs}
			c = &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: u.String(), MIMEType: mime, Blob: b}}
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return failf("read_media_file: %v", err)
		}
		return &mcp.CallToolResult{Content: []mcp.Content{c},
			StructuredContent: map[string]any{"content": []json.RawMessage{raw}}}
	})
}

func readMultipleFiles(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Paths []string }](args)
	out := make([]string, len(p.Paths))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, fp := range p.Paths {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			abs, err := s.resolve(fp)
			var text string
			if err == nil {
				text, _, err = s.readText(ctx, abs)
			}
			if err != nil {
				out[i] = fp + ": Error - " + strings.ReplaceAll(refusal(err), "\n", " ")
				return
			}
			out[i] = fp + ":\n" + text + "\n"
		})
	}
	wg.Wait()
	return textResult(strings.Join(out, "\n---\n"))
}

func writeFile(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Path, Content string }](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		if err := s.writeText(ctx, abs, p.Content, ""); err != nil {
			return refused(err)
		}
		return textResult("Successfully wrote to " + p.Path)
	})
}

func editFile(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Path   string `json:"path"`
		Edits  []edit `json:"edits"`
		DryRun bool   `json:"dryRun"`
	}](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		text, mtime, err := s.readText(ctx, abs)
		if err != nil {
			return refused(err)
		}
		text = strings.ReplaceAll(text, "\r\n", "\n")
		edited, err := applyEdits(text, p.Edits)
		if err != nil {
			return failf("%v", err)
		}
		diff := fencedDiff(unifiedDiff(abs, text, edited))
		if !p.DryRun {
			// if_mtime: an edit computed on content someone changed
			// meanwhile is refused rather than written over theirs.
			if err := s.writeText(ctx, abs, edited, mtime); err != nil {
				return refused(err)
			}
		}
		return textResult(diff)
	})
}

func createDirectory(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Path string }](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		if err := s.link.call(ctx, "file.mkdir", map[string]any{"path": abs, "parents": true}, nil); err != nil {
			return refused(err)
		}
		return textResult("Successfully created directory " + p.Path)
	})
}

func listDirectory(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Path string }](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		es, err := s.listAll(ctx, abs)
		if err != nil {
			return refused(err)
		}
		lines := make([]string, len(es))
		for i, e := range es {
			lines[i] = kind(e) + " " + e.Name
		}
		return textResult(strings.Join(lines, "\n"))
	})
}

func kind(e file.Entry) string {
	if e.Type == "dir" {
		return "[DIR]"
	}
	return "[FILE]"
}

func listDirectoryWithSizes(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Path   string `json:"path"`
		SortBy string `json:"sortBy"`
	}](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		es, err := s.listAll(ctx, abs)
		if err != nil {
			return refused(err)
		}
		sorted := append([]file.Entry{}, es...)
		if p.SortBy == "size" {
			sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Size > sorted[j].Size })
		} else {
			less := nameOrder()
			sort.SliceStable(sorted, func(i, j int) bool { return less(sorted[i].Name, sorted[j].Name) })
		}
		var lines []string
		files, dirs, total := 0, 0, int64(0)
		for _, e := range sorted {
			size := ""
			if e.Type == "dir" {
				dirs++
			} else {
				files++
				total += e.Size
				size = padStart(formatSize(e.Size), 10)
			}
			lines = append(lines, kind(e)+" "+padEnd(e.Name, 30)+" "+size)
		}
		lines = append(lines, "", fmt.Sprintf("Total: %d files, %d directories", files, dirs), "Combined size: "+formatSize(total))
		return textResult(strings.Join(lines, "\n"))
	})
}

// treeEntry is one node of directory_tree's JSON.
type treeEntry struct {
	Name     string       `json:"name"`
	Type     string       `json:"type"`
	Children *[]treeEntry `json:"children,omitempty"`
}

// maxTreeEntries bounds directory_tree and search_files: a walk that
// would list more stops with an error rather than fill the model's
// context (the reference server has no bound).
const maxTreeEntries = 20000

func directoryTree(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Path            string   `json:"path"`
		ExcludePatterns []string `json:"excludePatterns"`
	}](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		count := 0
		var walk func(dir, rel string) ([]treeEntry, error)
		walk = func(dir, rel string) ([]treeEntry, error) {
			es, err := s.listAll(ctx, dir)
			if err != nil {
				return nil, err
			}
			out := []treeEntry{}
			for _, e := range es {
				r := path.Join(rel, e.Name)
				if excludedTree(r, p.ExcludePatterns) {
					continue
				}
				if count++; count > maxTreeEntries {
					return nil, fmt.Errorf("more than %d entries below %s\nhint: pass excludePatterns, or ask for a deeper directory", maxTreeEntries, abs)
				}
				te := treeEntry{Name: e.Name, Type: "file"}
				if e.Type == "dir" {
					te.Type = "directory"
					kids, err := walk(path.Join(dir, e.Name), r)
					if err != nil {
						return nil, err
					}
					te.Children = &kids
				}
				out = append(out, te)
			}
			return out, nil
		}
		tree, err := walk(abs, "")
		if err != nil {
			return refused(err)
		}
		return textResult(jsonIndent(tree))
	})
}

// jsonIndent renders v as JSON.stringify(v, null, 2) does (no HTML
// escaping).
func jsonIndent(v any) string {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
	return strings.TrimSuffix(sb.String(), "\n")
}

// excludedTree is directory_tree's exclusion rule: a pattern with "*" is
// matched against the relative path; one without also against any
// trailing part of it and anything below it.
func excludedTree(rel string, patterns []string) bool {
	for _, pat := range patterns {
		if globMatch(pat, rel) {
			return true
		}
		if !strings.Contains(pat, "*") && (globMatch("**/"+pat, rel) || globMatch("**/"+pat+"/**", rel)) {
			return true
		}
	}
	return false
}

// globMatch matches a path relative to the search root against a glob as
// minimatch does with dot: true ("*" stays within a segment, "**" spans
// segments, braces and classes work, dot files match).
func globMatch(pattern, rel string) bool {
	ok, err := doublestar.Match(pattern, rel)
	if err != nil || !ok {
		return false
	}
	// doublestar lets a trailing "/**" match the directory itself;
	// minimatch wants at least one segment below it.
	if prefix, cut := strings.CutSuffix(pattern, "/**"); cut {
		if self, _ := doublestar.Match(prefix, rel); self {
			return false
		}
	}
	return true
}

func moveFile(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Source, Destination string }](args)
	from, err := s.resolve(p.Source)
	if err != nil {
		return failf("%v", err)
	}
	to, err := s.resolve(p.Destination)
	if err != nil {
		return failf("%v", err)
	}
	if err := s.link.call(ctx, "file.move", map[string]any{"from": from, "to": to}, nil); err != nil {
		return refused(err)
	}
	return textResult("Successfully moved " + p.Source + " to " + p.Destination)
}

func searchFiles(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Path            string   `json:"path"`
		Pattern         string   `json:"pattern"`
		ExcludePatterns []string `json:"excludePatterns"`
	}](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		var found []string
		seen := 0
		var walk func(dir, rel string) error
		walk = func(dir, rel string) error {
			es, err := s.listAll(ctx, dir)
			if err != nil {
				if dir == abs {
					return err
				}
				return nil // a subdirectory the token does not reach is skipped, as the reference skips it
			}
			for _, e := range es {
				r := path.Join(rel, e.Name)
				if excludedSearch(r, p.ExcludePatterns) {
					continue
				}
				if seen++; seen > maxTreeEntries*5 {
					return fmt.Errorf("more than %d entries below %s\nhint: search a deeper directory, or pass excludePatterns", maxTreeEntries*5, abs)
				}
				full := path.Join(dir, e.Name)
				if globMatch(p.Pattern, r) {
					found = append(found, full)
				}
				if e.Type == "dir" {
					if err := walk(full, r); err != nil {
						return err
					}
				}
			}
			return nil
		}
		if err := walk(abs, ""); err != nil {
			return refused(err)
		}
		if len(found) == 0 {
			return textResult("No matches found")
		}
		return textResult(strings.Join(found, "\n"))
	})
}

func excludedSearch(rel string, patterns []string) bool {
	for _, pat := range patterns {
		if globMatch(pat, rel) {
			return true
		}
	}
	return false
}

func getFileInfo(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct{ Path string }](args)
	return resolved(s, p.Path, func(abs string) *mcp.CallToolResult {
		var e file.Entry
		if err := s.link.call(ctx, "file.stat", map[string]any{"path": abs}, &e); err != nil {
			return refused(err)
		}
		mtime, _ := time.Parse(time.RFC3339Nano, e.Mtime)
		perm := e.Mode
		if len(perm) > 3 {
			perm = perm[len(perm)-3:]
		}
		lines := []string{
			fmt.Sprintf("size: %d", e.Size),
			"modified: " + jsDate(mtime),
			fmt.Sprintf("isDirectory: %t", e.Type == "dir"),
			fmt.Sprintf("isFile: %t", e.Type == "file"),
			"permissions: " + perm,
		}
		if e.Type == "symlink" {
			lines = append(lines, "symlink: "+e.Target)
		}
		return textResult(strings.Join(lines, "\n"))
	})
}

func listAllowedDirectories(_ context.Context, s *Server, _ *mcp.CallToolRequest, _ json.RawMessage) *mcp.CallToolResult {
	lines := []string{"Allowed directories:"}
	for _, g := range s.link.fileGrants() {
		line := g.Dir
		if v := strings.Join(g.Verbs, ","); v != "DELETE,GET,PUT" {
			line += " (" + verbsText(g.Verbs) + ")"
		}
		lines = append(lines, line)
	}
	return textResult(strings.Join(lines, "\n"))
}

// verbsText says what a directory's verbs allow, for an agent.
func verbsText(verbs []string) string {
	words := map[string]string{"GET": "read", "PUT": "write", "DELETE": "delete"}
	var out []string
	for _, v := range verbs {
		if w, ok := words[v]; ok {
			out = append(out, w)
		}
	}
	if len(out) == 1 {
		return out[0] + " only"
	}
	return strings.Join(out, " and ") + " only"
}
