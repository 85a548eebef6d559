package main

// The differential test: the same calls, made by the same client (the Go
// SDK's), to the reference filesystem server from npm and to carapace mcp,
// each on its own identical copy of a folder; the text of every result
// that is not a refusal must be the same.

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// referenceServer is the npm package the differential test runs, pinned.
const referenceServer = "@modelcontextprotocol/server-filesystem@2026.8.31"

// installReference installs the reference server once per machine (in the
// temporary directory) and returns its entry point, or skips the test.
func installReference(t *testing.T) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the differential test against " + referenceServer + " needs node and npm")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the differential test needs it")
	}
	dir := filepath.Join(os.TempDir(), "carapace-mcp-reference")
	entry := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js")
	if _, err := os.Stat(entry); err == nil {
		return entry
	}
	os.MkdirAll(dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir, "--no-audit", "--no-fund", referenceServer)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm install %s failed (no registry here?): %v\n%s", referenceServer, err, out)
	}
	return entry
}

// fixture fills dir with the same files for both servers.
func fixture(t *testing.T, dir string) {
	files := map[string]string{
		"a.txt":            "alpha\nbeta\ngamma\ndelta\nepsilon\nzeta\neta\ntheta\niota\nkappa\nlambda\nmu\n",
		"b.md":             "# Title\n\nsome `code` and ``` fences\n",
		"crlf.txt":         "one\r\ntwo\r\nthree",
		"empty.txt":        "",
		"sub/c.txt":        "in sub\n",
		"sub/deep/d.txt":   "deep\n",
		"sub/deep/e.log":   "log line\n",
		"notes/todo.txt":   "- a\n- b\n",
		"code/main.go":     "package main\n\nfunc main() {\n\tprintln(\"hi\")\n}\n",
		"code/.hidden.txt": "dot\n",
		"names/Zebra.txt":  strings.Repeat("z", 1500),
		"names/apple.txt":  "a",
		"names/Apple2.txt": strings.Repeat("b", 3<<20),
		"names/_under.txt": "u",
		"names/été.txt":    "accent\n",
		"names/10.txt":     "ten",
		"names/9.txt":      "nine",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "pic.png"), []byte("\x89PNG\r\n\x1a\n0123456789"), 0o644)
}

func TestMCPDifferential(t *testing.T) {
	entry := installReference(t)
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", nil)
	ours := filepath.Join(d.home, "Docs")
	theirs := filepath.Join(t.TempDir(), "Ref")
	fixture(t, ours)
	fixture(t, theirs)
	car := d.mcpSession(t, nil, strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file",
		"--scope", "GET:~/Docs/*", "--scope", "PUT:~/Docs/*", "--scope", "DELETE:~/Docs/*", "--ttl", "10m")))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	refc := mcp.NewClient(&mcp.Implementation{Name: "carapace-diff", Version: "1"}, nil)
	ref, err := refc.Connect(ctx, &mcp.CommandTransport{Command: exec.Command("node", entry, theirs)}, nil)
	if err != nil {
		t.Fatalf("start the reference server: %v", err)
	}
	defer ref.Close()

	// The input schemas and annotations of the reference's tools, member
	// for member (descriptions are our own words).
	refTools, _ := ref.ListTools(ctx, nil)
	carTools, _ := car.ListTools(ctx, nil)
	carByName := map[string]*mcp.Tool{}
	for _, tl := range carTools.Tools {
		carByName[tl.Name] = tl
	}
	for _, rt := range refTools.Tools {
		ct := carByName[rt.Name]
		if ct == nil {
			t.Errorf("carapace lacks the reference's tool %s", rt.Name)
			continue
		}
		if a, b := schemaJSON(t, rt.InputSchema), schemaJSON(t, ct.InputSchema); a != b {
			t.Errorf("%s input schema:\nreference %s\ncarapace  %s", rt.Name, a, b)
		}
		if a, b := schemaJSON(t, rt.Annotations), schemaJSON(t, ct.Annotations); a != b {
			t.Errorf("%s annotations:\nreference %s\ncarapace  %s", rt.Name, a, b)
		}
		if rt.Title != ct.Title {
			t.Errorf("%s title: %q vs %q", rt.Name, rt.Title, ct.Title)
		}
	}

	type call struct {
		name string
		args map[string]any // paths relative to the folder, made absolute per server
	}
	abs := func(root string, args map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range args {
			switch x := v.(type) {
			case string:
				if k == "path" || k == "source" || k == "destination" {
					x = filepath.Join(root, x)
				}
				out[k] = x
			case []string:
				if k == "paths" {
					ps := make([]string, len(x))
					for i, p := range x {
						ps[i] = filepath.Join(root, p)
					}
					out[k] = ps
				} else {
					out[k] = x
				}
			default:
				out[k] = v
			}
		}
		return out
	}
	calls := []call{
		{"read_text_file", map[string]any{"path": "a.txt"}},
		{"read_text_file", map[string]any{"path": "a.txt", "head": 3}},
		{"read_text_file", map[string]any{"path": "a.txt", "tail": 3}},
		{"read_text_file", map[string]any{"path": "a.txt", "tail": 1}},
		{"read_text_file", map[string]any{"path": "a.txt", "head": 100}},
		{"read_text_file", map[string]any{"path": "crlf.txt", "tail": 2}},
		{"read_text_file", map[string]any{"path": "crlf.txt", "head": 2}},
		{"read_text_file", map[string]any{"path": "empty.txt"}},
		{"read_text_file", map[string]any{"path": "empty.txt", "tail": 3}},
		{"read_file", map[string]any{"path": "b.md"}},
		{"read_multiple_files", map[string]any{"paths": []string{"a.txt", "sub/c.txt", "b.md"}}},
		{"list_directory", map[string]any{"path": "."}},
		{"list_directory", map[string]any{"path": "sub"}},
		{"list_directory_with_sizes", map[string]any{"path": "."}},
		{"list_directory_with_sizes", map[string]any{"path": ".", "sortBy": "size"}},
		{"list_directory_with_sizes", map[string]any{"path": "sub/deep"}},
		{"list_directory_with_sizes", map[string]any{"path": "names"}},
		{"list_directory_with_sizes", map[string]any{"path": "names", "sortBy": "size"}},
		{"list_directory", map[string]any{"path": "names"}},
		{"read_text_file", map[string]any{"path": "names/Apple2.txt", "tail": 1}},
		{"read_text_file", map[string]any{"path": "names/été.txt"}},
		{"directory_tree", map[string]any{"path": "."}},
		{"directory_tree", map[string]any{"path": ".", "excludePatterns": []string{"deep"}}},
		{"directory_tree", map[string]any{"path": ".", "excludePatterns": []string{"*.txt"}}},
		{"directory_tree", map[string]any{"path": ".", "excludePatterns": []string{"**/*.log", "code"}}},
		{"search_files", map[string]any{"path": ".", "pattern": "**/*.txt"}},
		{"search_files", map[string]any{"path": ".", "pattern": "*.md"}},
		{"search_files", map[string]any{"path": ".", "pattern": "sub/**"}},
		{"search_files", map[string]any{"path": ".", "pattern": "**/*.{go,log}"}},
		{"search_files", map[string]any{"path": ".", "pattern": "**/*.txt", "excludePatterns": []string{"sub/**"}}},
		{"search_files", map[string]any{"path": ".", "pattern": "*.nothing"}},
		{"edit_file", map[string]any{"path": "a.txt", "edits": []map[string]string{{"oldText": "gamma", "newText": "GAMMA"}}, "dryRun": true}},
		{"edit_file", map[string]any{"path": "a.txt", "edits": []map[string]string{{"oldText": "alpha\nbeta", "newText": "ALPHA"}, {"oldText": "mu\n", "newText": "mu\nnu\nxi\n"}}, "dryRun": true}},
		{"edit_file", map[string]any{"path": "code/main.go", "edits": []map[string]string{{"oldText": "println(\"hi\")", "newText": "println(\"hello\")\n    println(\"again\")"}}}},
		{"edit_file", map[string]any{"path": "b.md", "edits": []map[string]string{{"oldText": "# Title", "newText": "# New ```` title"}}}},
		{"edit_file", map[string]any{"path": "crlf.txt", "edits": []map[string]string{{"oldText": "three", "newText": "3"}}}},
		{"read_text_file", map[string]any{"path": "code/main.go"}},
		{"read_text_file", map[string]any{"path": "crlf.txt"}},
		{"write_file", map[string]any{"path": "new.txt", "content": "fresh\ncontent\n"}},
		{"write_file", map[string]any{"path": "a.txt", "content": "replaced\n"}},
		{"read_text_file", map[string]any{"path": "a.txt"}},
		{"create_directory", map[string]any{"path": "made/deeper"}},
		{"create_directory", map[string]any{"path": "made"}},
		{"move_file", map[string]any{"source": "new.txt", "destination": "made/moved.txt"}},
		{"list_directory", map[string]any{"path": "made"}},
		{"directory_tree", map[string]any{"path": "made"}},
		{"read_media_file", map[string]any{"path": "pic.png"}},
		{"get_file_info", map[string]any{"path": "sub/c.txt"}},
		{"get_file_info", map[string]any{"path": "sub"}},
	}
	compared := 0
	for _, c := range calls {
		rr, err := ref.CallTool(ctx, &mcp.CallToolParams{Name: c.name, Arguments: abs(theirs, c.args)})
		if err != nil {
			t.Fatalf("reference %s: %v", c.name, err)
		}
		cr, err := car.CallTool(ctx, &mcp.CallToolParams{Name: c.name, Arguments: abs(ours, c.args)})
		if err != nil {
			t.Fatalf("carapace %s: %v", c.name, err)
		}
		if rr.IsError {
			t.Errorf("%s %v: the reference refused: %s", c.name, c.args, contentText(t, rr))
			continue
		}
		if cr.IsError {
			t.Errorf("%s %v: carapace refused what the reference did: %s", c.name, c.args, contentText(t, cr))
			continue
		}
		want := strings.ReplaceAll(contentText(t, rr), theirs, ours)
		got := contentText(t, cr)
		if c.name == "get_file_info" { // no created/accessed times in Carapace (docs/mcp.md)
			want, got = keepLines(want, "size", "isDirectory", "isFile", "permissions"), keepLines(got, "size", "isDirectory", "isFile", "permissions")
		}
		if got != want {
			t.Errorf("%s %v:\nreference %q\ncarapace  %q", c.name, c.args, want, got)
		}
		compared++
	}
	t.Logf("%d calls compared, %d tools' schemas", compared, len(refTools.Tools))
}

func schemaJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m any
	json.Unmarshal(b, &m)
	if mm, ok := m.(map[string]any); ok {
		delete(mm, "$schema")
	}
	b, _ = json.Marshal(m)
	return string(b)
}

// contentText renders a result's content: text as it is, anything else as
// its JSON.
func contentText(t *testing.T, r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
			continue
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	return strings.Join(parts, "\n")
}

func keepLines(text string, keys ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, k := range keys {
			if strings.HasPrefix(l, k+": ") {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}
