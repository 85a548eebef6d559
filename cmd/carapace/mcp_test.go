package main

// End-to-end tests of `carapace mcp`: the real binary started by the
// official Go SDK's client over a stdio pipe, against a real dev stack.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpSession starts `carapace mcp` with tokens and connects the SDK client.
func (d *devStack) mcpSession(t *testing.T, opts *mcp.ClientOptions, tokens ...string) *mcp.ClientSession {
	s, _ := d.mcpProcess(t, opts, tokens...)
	return s
}

// mcpProcess is mcpSession that also returns the server's process.
func (d *devStack) mcpProcess(t *testing.T, opts *mcp.ClientOptions, tokens ...string) (*mcp.ClientSession, *exec.Cmd) {
	t.Helper()
	args := []string{"mcp"}
	for _, tok := range tokens {
		args = append(args, "--token", tok)
	}
	return d.mcpStart(t, opts, args...)
}

// mcpStart starts `carapace ARGS…` as an MCP server and connects to it.
func (d *devStack) mcpStart(t *testing.T, opts *mcp.ClientOptions, args ...string) (*mcp.ClientSession, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket, "PATH=/usr/bin:/bin"}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "carapace-test", Version: "1"}, opts)
	s, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr: %s", err, stderr.String())
	}
	t.Cleanup(func() { s.Close() })
	return s, cmd
}

// callTool calls a tool and returns its text and isError.
func callTool(t *testing.T, s *mcp.ClientSession, name string, args any) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	var texts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n"), res.IsError
}

func toolNames(t *testing.T, s *mcp.ClientSession) []string {
	t.Helper()
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

var referenceFileTools = []string{"create_directory", "directory_tree", "edit_file", "get_file_info", "list_allowed_directories",
	"list_directory", "list_directory_with_sizes", "move_file", "read_file", "read_media_file", "read_multiple_files",
	"read_text_file", "search_files", "write_file"}

func TestMCPFileTools(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, project_roots: [~/Projects]}\n", nil)
	docs := filepath.Join(d.home, "Docs")
	proj := filepath.Join(d.home, "Projects", "demo")
	os.WriteFile(filepath.Join(docs, ".env"), []byte("SECRET=hunter2\n"), 0o600)
	os.WriteFile(filepath.Join(docs, "pic.png"), []byte("\x89PNG\r\n\x1a\nfake"), 0o644)
	fileTok := strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--scope", "PUT:~/Docs/*", "--scope", "DELETE:~/Docs/*", "--ttl", "10m", "--sub", "agent:mcp-test"))
	codeTok := issue(t, d, "code", "POST:"+proj+"/*")
	s := d.mcpSession(t, nil, fileTok, codeTok)

	if got := s.InitializeResult().ServerInfo.Name; got != "carapace" {
		t.Errorf("serverInfo.name %q", got)
	}
	names := toolNames(t, s)
	for _, want := range append(slices.Clone(referenceFileTools), "run_command") {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s: %v", want, names)
		}
	}
	for _, hidden := range []string{"run_shell", "list_apps", "open_app"} {
		if slices.Contains(names, hidden) {
			t.Errorf("tools/list has %s without a token for it", hidden)
		}
	}

	a := filepath.Join(docs, "a.txt")
	ok := func(name string, args any, want ...string) string {
		t.Helper()
		text, isErr := callTool(t, s, name, args)
		if isErr {
			t.Errorf("%s %v: error %q", name, args, text)
			return text
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: %q lacks %q", name, args, text, w)
			}
		}
		return text
	}
	refuse := func(name string, args any, want ...string) {
		t.Helper()
		text, isErr := callTool(t, s, name, args)
		if !isErr {
			t.Errorf("%s %v: not refused: %q", name, args, text)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: %q lacks %q", name, args, text, w)
			}
		}
		if strings.Contains(text, "hunter2") {
			t.Errorf("%s: a refusal carries the secret", name)
		}
	}

	ok("write_file", map[string]any{"path": a, "content": "one\ntwo\nthree\n"}, "Successfully wrote to "+a)
	if got := ok("read_text_file", map[string]any{"path": a}); got != "one\ntwo\nthree\n" {
		t.Errorf("read_text_file %q", got)
	}
	if got := ok("read_text_file", map[string]any{"path": a, "head": 2}); got != "one\ntwo" {
		t.Errorf("head 2 %q", got)
	}
	if got := ok("read_text_file", map[string]any{"path": a, "tail": 2}); got != "three\n" {
		t.Errorf("tail 2 %q (the reference's own answer: the last two pieces split at newlines)", got)
	}
	ok("read_file", map[string]any{"path": a}, "two")
	diff := ok("edit_file", map[string]any{"path": a, "edits": []map[string]string{{"oldText": "two", "newText": "2"}}, "dryRun": true},
		"```diff\nIndex: "+a+"\n", "-two\n+2\n")
	if b, _ := os.ReadFile(a); string(b) != "one\ntwo\nthree\n" {
		t.Errorf("dryRun wrote: %q", b)
	}
	if got := ok("edit_file", map[string]any{"path": a, "edits": []map[string]string{{"oldText": "two", "newText": "2"}}}); got != diff {
		t.Errorf("edit_file's diff differs from its dry run:\n%s\n%s", got, diff)
	}
	if b, _ := os.ReadFile(a); string(b) != "one\n2\nthree\n" {
		t.Errorf("after edit: %q", b)
	}
	refuse("edit_file", map[string]any{"path": a, "edits": []map[string]string{{"oldText": "absent", "newText": "x"}}}, "Could not find exact match")
	ok("create_directory", map[string]any{"path": filepath.Join(docs, "sub", "deep")}, "Successfully created directory")
	ok("create_directory", map[string]any{"path": filepath.Join(docs, "sub")}, "Successfully created directory")
	ok("move_file", map[string]any{"source": a, "destination": filepath.Join(docs, "sub", "b.txt")}, "Successfully moved")
	refuse("move_file", map[string]any{"source": filepath.Join(docs, "pic.png"), "destination": filepath.Join(docs, "sub", "b.txt")}, "exists", "hint:")
	if got := ok("list_directory", map[string]any{"path": docs}); got != "[FILE] pic.png\n[DIR] sub" {
		t.Errorf("list_directory (the deny-listed .env hidden) %q", got)
	}
	ok("list_directory_with_sizes", map[string]any{"path": docs, "sortBy": "size"}, "[FILE] pic.png", "Total: 1 files, 1 directories", "Combined size: 12 B")
	tree := ok("directory_tree", map[string]any{"path": docs, "excludePatterns": []string{"deep"}})
	var nodes []map[string]any
	if json.Unmarshal([]byte(tree), &nodes) != nil || len(nodes) != 2 || !strings.Contains(tree, `"name": "b.txt"`) || strings.Contains(tree, "deep") {
		t.Errorf("directory_tree %s", tree)
	}
	if got := ok("search_files", map[string]any{"path": docs, "pattern": "**/*.txt"}); got != filepath.Join(docs, "sub", "b.txt") {
		t.Errorf("search_files %q", got)
	}
	ok("search_files", map[string]any{"path": docs, "pattern": "*.nothing"}, "No matches found")
	ok("get_file_info", map[string]any{"path": filepath.Join(docs, "pic.png")}, "size: 12\n", "isFile: true", "permissions: 644")
	multi := ok("read_multiple_files", map[string]any{"paths": []string{filepath.Join(docs, "sub", "b.txt"), filepath.Join(docs, "nope")}},
		filepath.Join(docs, "sub", "b.txt")+":\none\n2\nthree\n\n\n---\n", filepath.Join(docs, "nope")+": Error - ", "not_found")
	_ = multi
	if got := ok("list_allowed_directories", map[string]any{}); got != "Allowed directories:\n"+docs {
		t.Errorf("list_allowed_directories %q", got)
	}
	res, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "read_media_file", Arguments: map[string]any{"path": filepath.Join(docs, "pic.png")}})
	if err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("read_media_file: %v %+v", err, res)
	}
	if img, isImg := res.Content[0].(*mcp.ImageContent); !isImg || img.MIMEType != "image/png" || !bytes.Equal(img.Data, []byte("\x89PNG\r\n\x1a\nfake")) {
		t.Errorf("read_media_file content %#v", res.Content[0])
	}

	// Refusals: a tool result with isError, the router's or the service's
	// reason and a hint, never content.
	refuse("read_text_file", map[string]any{"path": "/etc/passwd"}, "(scope)", "[-32003]", "hint:")
	refuse("read_text_file", map[string]any{"path": filepath.Join(docs, ".env")}, "denied_by_rule", "hint:")
	refuse("read_text_file", map[string]any{"path": filepath.Join(docs, "..", "Projects", "x")}, "(scope)")
	refuse("write_file", map[string]any{"path": filepath.Join(d.home, "x.txt"), "content": "x"}, "(scope)")
	refuse("list_directory", map[string]any{"path": d.home}, "(scope)")
	refuse("read_text_file", map[string]any{"path": filepath.Join(docs, "missing.txt")}, "not_found")
	if _, err := os.Stat(filepath.Join(d.home, "x.txt")); err == nil {
		t.Error("a refused write_file wrote")
	}

	// Commands: through the code service, sandboxed, in the project the
	// token names.
	ok("run_command", map[string]any{"command": "pwd", "cwd": proj}, proj+"\n", "[exit code 0]")
	ok("run_command", map[string]any{"command": "sh", "args": []string{"-c", "cat; exit 3"}, "cwd": proj, "stdin": "fed"}, "fed", "[exit code 3]")
	refuse("run_command", map[string]any{"command": "pwd", "cwd": d.home}, "(scope)", "hint:")

	// Bad input: a tool error or a protocol error that says what is wrong,
	// and the server keeps serving.
	refuse("read_text_file", map[string]any{"path": 5}, "invalid arguments for tool read_text_file", "path: want string, got number")
	refuse("read_text_file", map[string]any{}, `missing required member "path"`)
	refuse("read_multiple_files", map[string]any{"paths": []string{}}, "want at least 1 items")
	refuse("list_directory_with_sizes", map[string]any{"path": docs, "sortBy": "date"}, "want one of")
	refuse("read_text_file", map[string]any{"path": "relative.txt", "head": 1, "tail": 1}, "Cannot specify both head and tail")
	if _, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "no_such_tool", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), "no_such_tool") {
		t.Errorf("unknown tool: %v", err)
	}
	huge := strings.Repeat("x", 3<<20)
	ok("write_file", map[string]any{"path": filepath.Join(docs, "big.txt"), "content": huge}, "Successfully wrote")
	if b, _ := os.ReadFile(filepath.Join(docs, "big.txt")); len(b) != len(huge) {
		t.Errorf("a 3 MiB write_file left %d bytes", len(b))
	}
	if err := s.Ping(context.Background(), nil); err != nil {
		t.Fatalf("ping after bad input: %v", err)
	}
	ok("read_text_file", map[string]any{"path": filepath.Join(docs, "sub", "b.txt"), "head": 1}, "one")

	// Every call went through the router: allowed and refused calls are
	// in the audit log under the agent's token.
	tail := mustCLI(t, d, "audit", "tail", "-n", "200", "--json")
	for _, w := range []string{`"via":"mcp"`, `"sub":"agent:mcp-test"`, `"method":"file.write"`, `"method":"file.read"`, `"reason":"scope"`, `"method":"code.execute"`} {
		if !strings.Contains(tail, w) {
			t.Errorf("audit tail lacks %s", w)
		}
	}
}

// TestMCPOnlyCoveredTools: a file-only token hides every command tool; a
// start without a token, or with one the router refuses, fails with a
// hint instead of serving nothing.
func TestMCPOnlyCoveredTools(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, project_roots: [~/Projects]}\n", nil)
	s, cmd := d.mcpProcess(t, nil, issue(t, d, "file", "GET:~/Docs/*"))
	// The server is never the owner: it runs under no_new_privs, which the
	// router reads as a confined peer's mark (no minting, no approving).
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err != nil || !strings.Contains(string(st), "\nNoNewPrivs:\t1\n") {
		t.Errorf("carapace mcp runs without no_new_privs: %v", err)
	}
	names := toolNames(t, s)
	if !slices.Equal(names, referenceFileTools) {
		t.Errorf("file-only token lists %v, want the reference file tools %v", names, referenceFileTools)
	}
	if got, _ := callTool(t, s, "list_allowed_directories", map[string]any{}); got != "Allowed directories:\n"+filepath.Join(d.home, "Docs")+" (read only)" {
		t.Errorf("list_allowed_directories %q", got)
	}
	text, isErr := callTool(t, s, "write_file", map[string]any{"path": filepath.Join(d.home, "Docs", "w.txt"), "content": "x"})
	if !isErr || !strings.Contains(text, "PUT") {
		t.Errorf("write with a read-only token: %v %q", isErr, text)
	}

	// A token withdrawn mid-session: the next call is refused with the
	// router's reason (an expired one takes the same path: every call is
	// checked, not only auth), and the server keeps serving.
	var issued struct{ Token, JTI string }
	json.Unmarshal([]byte(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10m", "--json")), &issued)
	s2 := d.mcpSession(t, nil, issued.Token)
	if _, isErr := callTool(t, s2, "list_directory", map[string]any{"path": filepath.Join(d.home, "Docs")}); isErr {
		t.Fatal("list_directory before revocation refused")
	}
	mustCLI(t, d, "token", "revoke", issued.JTI)
	if text, isErr := callTool(t, s2, "list_directory", map[string]any{"path": filepath.Join(d.home, "Docs")}); !isErr || !strings.Contains(text, "(revoked)") || !strings.Contains(text, "hint:") {
		t.Errorf("after revocation: %v %q", isErr, text)
	}
	if err := s2.Ping(context.Background(), nil); err != nil {
		t.Errorf("ping after a refusal: %v", err)
	}

	_, errOut, code := d.cli("mcp")
	if code != exitUsage || !strings.Contains(errOut, "needs at least one token") || !strings.Contains(errOut, "hint:") {
		t.Errorf("no token: %d %q", code, errOut)
	}
	_, errOut, code = d.cli("mcp", "--token", "not.a.token")
	if code != exitError || !strings.Contains(errOut, "auth with token 1 of 1") {
		t.Errorf("bad token: %d %q", code, errOut)
	}
}

// TestMCPRunShell: run_shell waits for the owner's decision, sending
// progress while it waits; an approved command runs, a denied one comes
// back as a tool error saying so.
func TestMCPRunShell(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2m}\n", nil)
	var progress atomic.Int32
	s := d.mcpSession(t, &mcp.ClientOptions{ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
		progress.Add(1)
	}}, issue(t, d, "shell", "POST:~/*"))
	if names := toolNames(t, s); !slices.Equal(names, []string{"run_shell"}) {
		t.Errorf("shell token lists %v", names)
	}
	run := func(command string) chan *mcp.CallToolResult {
		ch := make(chan *mcp.CallToolResult, 1)
		go func() {
			p := &mcp.CallToolParams{Name: "run_shell", Arguments: map[string]any{"command": command, "cwd": d.home}}
			p.SetProgressToken("wait-1")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := s.CallTool(ctx, p)
			if err != nil {
				t.Errorf("run_shell: %v", err)
			}
			ch <- res
		}()
		return ch
	}
	res := run("echo via-mcp")
	id := d.waitPending(t, "echo via-mcp")
	mustCLI(t, d, "approve", id)
	r := <-res
	if r == nil || r.IsError || !strings.Contains(r.Content[0].(*mcp.TextContent).Text, "via-mcp\n[exit code 0]") {
		t.Fatalf("approved run_shell: %+v", r)
	}
	if progress.Load() == 0 {
		t.Error("no progress notification while waiting for the owner")
	}
	marker := filepath.Join(d.home, "denied-ran")
	res = run("touch " + marker)
	id = d.waitPending(t, "touch "+marker)
	mustCLI(t, d, "deny", id)
	r = <-res
	if r == nil || !r.IsError || !strings.Contains(r.Content[0].(*mcp.TextContent).Text, "(denied)") {
		t.Fatalf("denied run_shell: %+v", r)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a denied command ran")
	}
}

// TestMCPMalformedInput writes raw lines on the server's stdin: a line that
// is not JSON, not an object, a batch, not JSON-RPC, too large, or with
// params of the wrong shape gets a JSON-RPC error, and the session goes on
// (the SDK's own stdio transport ends it on the first such line); a huge
// but well-formed write and a whole read past the limit are answered too.
func TestMCPMalformedInput(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", nil)
	docs := filepath.Join(d.home, "Docs")
	cmd := exec.Command(binPath, "mcp", "--token", strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file",
		"--scope", "GET:~/Docs/*", "--scope", "PUT:~/Docs/*", "--scope", "DELETE:~/Docs/*", "--ttl", "10m")))
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		r := bufio.NewReaderSize(outPipe, 1<<20)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(in, s+"\n"); err != nil {
			t.Fatalf("write: %v\nstderr: %s", err, stderr.String())
		}
	}
	recv := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the server closed its stdout\nstderr: %s", stderr.String())
			}
			return l
		case <-time.After(60 * time.Second):
			t.Fatalf("no answer\nstderr: %s", stderr.String())
		}
		return ""
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if l := recv(); !strings.Contains(l, `"serverInfo"`) {
		t.Fatalf("initialize: %s", l)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for _, tc := range []struct{ line, want string }{
		{"{not json", `"code":-32700`},
		{"5", `"code":-32600`},
		{"[1,2]", "batches are not supported"},
		{`{"foo":1}`, `"code":-32600`},
		{`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":5}`, `"id":7,"error":{"code":-32602`},
		{`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"read_text_file","arguments":"x"}}`, `"isError":true`},
		{`{"jsonrpc":"2.0","id":9,"method":"no/such/method"}`, `"id":9,"error":{"code":-32601`},
		{strings.Repeat("x", 33<<20), "message larger than"},
	} {
		send(tc.line)
		if l := recv(); !strings.Contains(l, tc.want) {
			t.Errorf("%.40s: answer %.300s, want %s", tc.line, l, tc.want)
		}
	}
	big, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 10, "method": "tools/call", "params": map[string]any{
		"name": "write_file", "arguments": map[string]any{"path": filepath.Join(docs, "big.txt"), "content": strings.Repeat("y", 20<<20)}}})
	send(string(big))
	if l := recv(); !strings.Contains(l, `"id":10`) || !strings.Contains(l, "Successfully wrote") {
		t.Errorf("20 MiB write_file: %.300s", l)
	}
	send(`{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"` + filepath.Join(docs, "big.txt") + `"}}}`)
	if l := recv(); !strings.Contains(l, `"isError":true`) || !strings.Contains(l, "file_too_large") || !strings.Contains(l, "head or tail") {
		t.Errorf("whole read of 20 MiB: %.300s", l)
	}
	send(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"` + filepath.Join(docs, "big.txt") + `","head":1}}}`)
	if l := recv(); !strings.Contains(l, "lines_too_long") {
		t.Errorf("head of one 20 MiB line: %.300s", l)
	}
	send(`{"jsonrpc":"2.0","id":13,"method":"tools/list"}`)
	if l := recv(); !strings.Contains(l, `"id":13`) || !strings.Contains(l, "read_text_file") {
		t.Errorf("tools/list after all that: %.300s", l)
	}
}

// TestMCPGrant: the owner's --grant mints exactly the tokens it names
// before the server (under no_new_privs) serves with them; a grant wider
// than the configuration, or misspelt, stops it with a hint.
func TestMCPGrant(t *testing.T) {
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: true, project_roots: [~/Projects]}\n", nil)
	docs := filepath.Join(d.home, "Docs")
	proj := filepath.Join(d.home, "Projects", "demo")
	s, cmd := d.mcpStart(t, nil, "mcp", "--grant", "file:GET,PUT:~/Docs/*", "--grant", "code:POST:"+proj+"/*", "--ttl", "10m")
	names := toolNames(t, s)
	if !slices.Contains(names, "run_command") || !slices.Contains(names, "write_file") || slices.Contains(names, "run_shell") {
		t.Errorf("tools %v", names)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err != nil || !strings.Contains(string(st), "\nNoNewPrivs:\t1\n") {
		t.Errorf("the server minted, then did not drop to no_new_privs: %v", err)
	}
	if got, _ := callTool(t, s, "list_allowed_directories", map[string]any{}); got != "Allowed directories:\n"+docs+" (read and write only)" {
		t.Errorf("list_allowed_directories %q", got)
	}
	if text, isErr := callTool(t, s, "write_file", map[string]any{"path": filepath.Join(docs, "g.txt"), "content": "granted"}); isErr {
		t.Fatalf("write_file: %s", text)
	}
	if text, isErr := callTool(t, s, "move_file", map[string]any{"source": filepath.Join(docs, "g.txt"), "destination": filepath.Join(docs, "h.txt")}); !isErr || !strings.Contains(text, "DELETE") {
		t.Errorf("move_file without DELETE granted: %v %q", isErr, text)
	}
	if text, isErr := callTool(t, s, "run_command", map[string]any{"command": "pwd", "cwd": proj}); isErr || !strings.Contains(text, proj) {
		t.Errorf("run_command: %v %q", isErr, text)
	}
	if tail := mustCLI(t, d, "audit", "tail", "-n", "50", "--json"); !strings.Contains(tail, `"sub":"agent:mcp"`) || !strings.Contains(tail, `"method":"token.issue"`) {
		t.Errorf("audit lacks the grant's mint or its sub")
	}
	for _, tc := range []struct {
		grant string
		code  int
		want  string
	}{
		{"file:GET:/etc/*", exitError, "scope_too_wide"},
		{"shell:POST:~/*", exitError, "not_enabled"},
		{"file:READ:~/Docs/*", exitUsage, "is not GET, PUT, DELETE or POST"},
		{"files:GET:~/Docs/*", exitUsage, "file, code, shell or app"},
		{"file:GET", exitUsage, "SERVICE:VERBS:PATH"},
	} {
		if _, errOut, code := d.cli("mcp", "--grant", tc.grant); code != tc.code || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "hint:") {
			t.Errorf("--grant %s: %d %q", tc.grant, code, errOut)
		}
	}
	// An agent already confined (no_new_privs, as `carapace agent` will
	// start one) cannot grant itself anything.
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed: cannot start a confined carapace mcp")
	}
	c := exec.Command(setpriv, "--no-new-privs", binPath, "mcp", "--grant", "file:GET:~/Docs/*")
	c.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket}
	out, err := c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError || !strings.Contains(string(out), "not_owner") {
		t.Errorf("--grant under no_new_privs: %v %s", err, out)
	}
}

// TestMCPInstall: each client's block starts this binary with the grants
// asked for, in the client's own format; mistakes are usage errors.
func TestMCPInstall(t *testing.T) {
	d := &devStack{t: t, home: t.TempDir(), socket: filepath.Join(t.TempDir(), "none.sock")}
	want := []string{"mcp", "--grant", "file:GET,PUT:~/Documents/*", "--grant", "code:POST:~/Projects/x/*", "--ttl", "4h"}
	for _, c := range []string{"claude-code", "claude-desktop", "cursor", "vscode", "codex"} {
		out, errOut, code := d.cli("mcp", "install", "--client", c, "--grant", want[2], "--grant", want[4], "--ttl", "4h")
		if code != 0 || !strings.Contains(errOut, "add this to") {
			t.Fatalf("%s: %d %q", c, code, errOut)
		}
		if c == "codex" {
			wantTOML := "[mcp_servers.carapace]\ncommand = \"" + binPath + "\"\nargs = [\"mcp\", \"--grant\", \"file:GET,PUT:~/Documents/*\", \"--grant\", \"code:POST:~/Projects/x/*\", \"--ttl\", \"4h\"]\n"
			if out != wantTOML {
				t.Errorf("codex:\n%s\nwant\n%s", out, wantTOML)
			}
			continue
		}
		var cfg map[string]map[string]struct {
			Type    string
			Command string
			Args    []string
		}
		if err := json.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", c, err, out)
		}
		key := "mcpServers"
		if c == "vscode" {
			key = "servers"
		}
		srv := cfg[key]["carapace"]
		if srv.Command != binPath || !slices.Equal(srv.Args, want) || (c == "vscode") != (srv.Type == "stdio") {
			t.Errorf("%s: %+v", c, srv)
		}
	}
	for _, args := range [][]string{
		{"mcp", "install", "--client", "emacs", "--grant", want[2]},
		{"mcp", "install", "--client", "cursor"},
		{"mcp", "install", "--client", "cursor", "--grant", "file:GET"},
	} {
		if _, errOut, code := d.cli(args...); code != exitUsage || !strings.Contains(errOut, "hint:") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
}

// TestMCPAsOrdinaryUser: a stack and carapace mcp run by a non-root
// owner: --grant mints for that owner, the server drops to no_new_privs
// and serves the file tools.
func TestMCPAsOrdinaryUser(t *testing.T) {
	cred := testUser(t)
	d := startDev(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n", cred)
	cmd := exec.Command(binPath, "mcp", "--grant", "file:GET,PUT:~/Docs/*")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = []string{"HOME=" + d.home, "GIMME_SOCKET=" + d.socket}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr: %s", err, stderr.String())
	}
	defer s.Close()
	p := filepath.Join(d.home, "Docs", "u.txt")
	if text, isErr := callTool(t, s, "write_file", map[string]any{"path": p, "content": "ordinary\n"}); isErr {
		t.Fatalf("write_file: %s", text)
	}
	if text, isErr := callTool(t, s, "read_text_file", map[string]any{"path": p}); isErr || text != "ordinary\n" {
		t.Errorf("read_text_file: %v %q", isErr, text)
	}
	if fi, err := os.Stat(p); err != nil || fi.Sys().(*syscall.Stat_t).Uid != cred.Uid {
		t.Errorf("the file is not the owner's: %v", err)
	}
}

// TestMCPApps: list_apps and open_app through the app service, with an
// app token for one app; another app is refused.
func TestMCPApps(t *testing.T) {
	d := startDev(t, "services:\n  app: {enabled: true, allowed_apps: [Recorder, Other]}\n", nil)
	apps := filepath.Join(d.home, ".local", "share", "applications")
	os.MkdirAll(apps, 0o755)
	rec := filepath.Join(d.home, "recorder.sh")
	os.WriteFile(rec, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \""+d.home+"/ran-$1.tmp\" && mv \""+d.home+"/ran-$1.tmp\" \""+d.home+"/ran-$1\"\n"), 0o755)
	os.WriteFile(filepath.Join(apps, "recorder.desktop"), []byte("[Desktop Entry]\nType=Application\nName=Recorder\nExec="+rec+" plain\n"), 0o644)
	os.WriteFile(filepath.Join(apps, "other.desktop"), []byte("[Desktop Entry]\nType=Application\nName=Other\nExec="+rec+" other\n"), 0o644)
	s := d.mcpSession(t, nil, issue(t, d, "app", "POST:/Recorder"))
	if names := toolNames(t, s); !slices.Equal(names, []string{"list_apps", "open_app"}) {
		t.Errorf("app token lists %v", names)
	}
	if text, isErr := callTool(t, s, "list_apps", map[string]any{}); isErr || !strings.Contains(text, "Recorder [recorder.desktop]") {
		t.Errorf("list_apps: %v %q", isErr, text)
	}
	if text, isErr := callTool(t, s, "open_app", map[string]any{"app": "Recorder"}); isErr || !strings.Contains(text, "Opened Recorder") {
		t.Fatalf("open_app: %v %q", isErr, text)
	}
	if got := waitFile(t, filepath.Join(d.home, "ran-plain")); got != "plain\n" {
		t.Errorf("the app ran with %q", got)
	}
	if text, isErr := callTool(t, s, "open_app", map[string]any{"app": "Other"}); !isErr || !strings.Contains(text, "(scope)") {
		t.Errorf("open_app outside the token: %v %q", isErr, text)
	}
	if _, err := os.Stat(filepath.Join(d.home, "ran-other")); err == nil {
		t.Fatal("an app outside the token ran")
	}
}

// TestMCPInstallWrites: --yes merges the block into each client's file,
// keeping every other entry (and a Codex file's comments) and a copy of
// the old file; a file it cannot merge is left as it was.
func TestMCPInstallWrites(t *testing.T) {
	home := t.TempDir()
	d := &devStack{t: t, home: home, socket: filepath.Join(t.TempDir(), "none.sock")}
	grant := "file:GET:~/Docs/*"
	cursor := filepath.Join(home, ".cursor", "mcp.json")
	os.MkdirAll(filepath.Dir(cursor), 0o755)
	oldCursor := `{"mcpServers": {"other": {"command": "x", "args": ["1"]}, "carapace": {"command": "stale"}}, "theme": "dark"}`
	os.WriteFile(cursor, []byte(oldCursor), 0o640)
	if _, errOut, code := d.cli("mcp", "install", "--client", "cursor", "--grant", grant, "--yes"); code != 0 || !strings.Contains(errOut, "wrote "+cursor) {
		t.Fatalf("cursor: %d %q", code, errOut)
	}
	var cfg struct {
		MCPServers map[string]struct {
			Command string
			Args    []string
		}
		Theme string
	}
	b, _ := os.ReadFile(cursor)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Theme != "dark" || cfg.MCPServers["other"].Command != "x" || cfg.MCPServers["carapace"].Command != binPath ||
		!slices.Equal(cfg.MCPServers["carapace"].Args, []string{"mcp", "--grant", grant}) {
		t.Errorf("merged cursor file:\n%s", b)
	}
	if st, _ := os.Stat(cursor); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", st.Mode().Perm())
	}
	backups, _ := filepath.Glob(cursor + ".bak-*")
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != oldCursor {
		t.Errorf("backup %q", b)
	}

	// Codex: the old carapace table and its subtable go; comments and
	// other tables stay.
	codexHome := filepath.Join(home, "codex")
	os.MkdirAll(codexHome, 0o700)
	toml := filepath.Join(codexHome, "config.toml")
	oldTOML := "# my settings\nmodel = \"o3\"\n\n[mcp_servers.carapace]\ncommand = \"stale\"\n\n[mcp_servers.carapace.env]\nX = \"1\"\n\n[mcp_servers.other] # keep me\ncommand = \"y\"\n"
	os.WriteFile(toml, []byte(oldTOML), 0o600)
	cmd := exec.Command(binPath, "mcp", "install", "--client", "codex", "--grant", grant, "--yes")
	cmd.Env = []string{"HOME=" + home, "CODEX_HOME=" + codexHome, "PATH=/usr/bin:/bin"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("codex: %v\n%s", err, out)
	}
	b, _ = os.ReadFile(toml)
	want := "# my settings\nmodel = \"o3\"\n\n[mcp_servers.other] # keep me\ncommand = \"y\"\n\n[mcp_servers.carapace]\ncommand = \"" + binPath + "\"\nargs = [\"mcp\", \"--grant\", \"file:GET:~/Docs/*\"]\n"
	if string(b) != want {
		t.Errorf("merged config.toml:\n%s\nwant\n%s", b, want)
	}

	// VS Code's file may hold comments: refused, untouched.
	vs := filepath.Join(home, "proj", ".vscode", "mcp.json")
	os.MkdirAll(filepath.Dir(vs), 0o755)
	oldVS := "{\n  // mine\n  \"servers\": {}\n}\n"
	os.WriteFile(vs, []byte(oldVS), 0o644)
	if _, errOut, code := d.cli("mcp", "install", "--client", "vscode", "--grant", grant, "--yes", "--file", vs); code == 0 || !strings.Contains(errOut, "hint:") {
		t.Errorf("vscode with comments: %d %q", code, errOut)
	}
	if b, _ := os.ReadFile(vs); string(b) != oldVS {
		t.Errorf("the commented file changed: %q", b)
	}
	// A new file is made, 0600.
	fresh := filepath.Join(home, "new", "claude_desktop_config.json")
	if _, errOut, code := d.cli("mcp", "install", "--client", "claude-desktop", "--grant", grant, "--yes", "--file", fresh); code != 0 {
		t.Fatalf("new file: %d %q", code, errOut)
	}
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v %v", st, err)
	}
}

// TestMCPRunShellTimesOut: a run_shell the owner never decides ends, when
// the approval times out, as a tool error naming the time-out, and the
// command never runs.
func TestMCPRunShellTimesOut(t *testing.T) {
	d := startDev(t, "services:\n  shell: {enabled: true, approval_timeout: 2s}\n", nil)
	s := d.mcpSession(t, nil, issue(t, d, "shell", "POST:~/*"))
	marker := filepath.Join(d.home, "timed-out-ran")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := s.CallTool(ctx, &mcp.CallToolParams{Name: "run_shell", Arguments: map[string]any{"command": "touch " + marker, "cwd": d.home}})
	if err != nil {
		t.Fatalf("run_shell: %v", err)
	}
	if !r.IsError || !strings.Contains(r.Content[0].(*mcp.TextContent).Text, "approval_timeout") {
		t.Fatalf("undecided run_shell: %+v", r.Content[0])
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a command nobody approved ran")
	}
}
