package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/token"
)

// progressEvery is how often run_shell tells a client that asked for
// progress that the owner has not answered yet.
var progressEvery = 5 * time.Second

func commandTools() []*tool {
	return []*tool{
		{aud: token.AudCode, run: runCommand, def: &mcp.Tool{
			Name: "run_command", Title: "Run Command",
			Description: "Run a program (no shell) in a project directory, inside Carapace's sandbox: no network unless the owner allowed it for the project, no reach outside it. " +
				"Returns its stdout, stderr and exit code. cwd must be inside a project the agent's code token covers.",
			InputSchema: json.RawMessage(`{"type":"object","properties":{` +
				`"command":{"type":"string","description":"The program to run, e.g. \"go\" or \"/usr/bin/make\""},` +
				`"args":{"type":"array","items":{"type":"string"},"description":"Its arguments"},` +
				`"cwd":{"type":"string","description":"Absolute working directory, inside an allowed project"},` +
				`"timeout_ms":{"type":"integer","description":"Kill it after this many milliseconds (default: the service's)"},` +
				`"stdin":{"type":"string","description":"Text sent to its standard input"}},` +
				`"required":["command","cwd"]}`),
			OutputSchema: json.RawMessage(execOutput),
			Annotations:  &mcp.ToolAnnotations{DestructiveHint: ptr(true), OpenWorldHint: ptr(false)},
		}},
		{aud: token.AudShell, run: runShell, def: &mcp.Tool{
			Name: "run_shell", Title: "Run Shell Command (owner approves)",
			Description: "Ask the owner to run a shell command line as themselves. The call waits until the owner approves or denies it out of band " +
				"(`carapace approve`, a desktop notification); nothing the agent holds can approve it. Returns stdout, stderr and exit code once it has run.",
			InputSchema: json.RawMessage(`{"type":"object","properties":{` +
				`"command":{"type":"string","description":"The command line, run by the owner's shell"},` +
				`"cwd":{"type":"string","description":"Absolute working directory (default: the owner's home)"}},` +
				`"required":["command"]}`),
			OutputSchema: json.RawMessage(execOutput),
			Annotations:  &mcp.ToolAnnotations{DestructiveHint: ptr(true), OpenWorldHint: ptr(true)},
		}},
		{aud: token.AudApp, run: listApps, def: &mcp.Tool{
			Name: "list_apps", Title: "List Apps",
			Description:  "The desktop apps the owner allows, with their ids and whether each is running.",
			InputSchema:  json.RawMessage(`{"type":"object","properties":{}}`),
			Annotations:  readOnly,
			OutputSchema: nil,
		}},
		{aud: token.AudApp, run: openApp, def: &mcp.Tool{
			Name: "open_app", Title: "Open App",
			Description: "Open an allowed desktop app, optionally with files (absolute paths).",
			InputSchema: json.RawMessage(`{"type":"object","properties":{` +
				`"app":{"type":"string","description":"The app's name, as list_apps shows it"},` +
				`"files":{"type":"array","items":{"type":"string"},"description":"Absolute paths to open with it"}},` +
				`"required":["app"]}`),
			Annotations: &mcp.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(false)},
		}},
	}
}

const execOutput = `{"type":"object","properties":{"stdout":{"type":"string"},"stderr":{"type":"string"},"exit_code":{"type":"integer"},` +
	`"signal":{"type":"string"},"timed_out":{"type":"boolean"},"truncated":{"type":"boolean"},"duration_ms":{"type":"integer"}},` +
	`"required":["stdout","stderr","exit_code","timed_out","truncated","duration_ms"]}`

// execResult renders a command's result: the output, then a line saying
// how it ended. A command that ran and failed is a result, not a refusal.
func execResult(r *codeexec.Result) *mcp.CallToolResult {
	var sb strings.Builder
	sb.WriteString(r.Stdout)
	if r.Stderr != "" {
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), "\n") {
			sb.WriteByte('\n')
		}
		sb.WriteString("[stderr]\n" + r.Stderr)
	}
	if sb.Len() > 0 && !strings.HasSuffix(sb.String(), "\n") {
		sb.WriteByte('\n')
	}
	switch {
	case r.TimedOut:
		fmt.Fprintf(&sb, "[timed out after %d ms and was killed]", r.DurationMS)
	case r.Signal != "":
		fmt.Fprintf(&sb, "[killed by %s]", r.Signal)
	default:
		fmt.Fprintf(&sb, "[exit code %d]", r.ExitCode)
	}
	if r.Truncated {
		sb.WriteString(" [output truncated at the service's cap]")
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: sb.String()}}, StructuredContent: r}
}

func runCommand(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Command   string   `json:"command"`
		Args      []string `json:"args"`
		Cwd       string   `json:"cwd"`
		TimeoutMS int64    `json:"timeout_ms"`
		Stdin     string   `json:"stdin"`
	}](args)
	cwd, err := s.resolve(p.Cwd)
	if err != nil {
		return failf("%v", err)
	}
	params := map[string]any{"command": p.Command, "args": append([]string{}, p.Args...), "cwd": cwd}
	if p.TimeoutMS > 0 {
		params["timeout_ms"] = p.TimeoutMS
	}
	if p.Stdin != "" {
		params["stdin"] = p.Stdin
	}
	var res codeexec.Result
	if err := s.link.call(ctx, "code.execute", params, &res); err != nil {
		return refused(err)
	}
	return execResult(&res)
}

func runShell(ctx context.Context, s *Server, req *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		Command string `json:"command"`
		Cwd     string `json:"cwd"`
	}](args)
	params := map[string]any{"command": p.Command}
	if p.Cwd != "" {
		cwd, err := s.resolve(p.Cwd)
		if err != nil {
			return failf("%v", err)
		}
		params["cwd"] = cwd
	}
	stop := s.progress(ctx, req, "waiting for the owner to approve or deny the command (carapace approvals)")
	var res codeexec.Result
	err := s.link.call(ctx, "shell.execute", params, &res)
	stop()
	if err != nil {
		return refused(err)
	}
	return execResult(&res)
}

// progress sends a progress notification now and every progressEvery
// while a call waits, when the client gave a progress token; the returned
// function stops it.
func (s *Server) progress(ctx context.Context, req *mcp.CallToolRequest, msg string) func() {
	tok := req.Params.GetProgressToken()
	if tok == nil || req.Session == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for n := 0; ; n++ {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(n), Message: msg})
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func listApps(ctx context.Context, s *Server, _ *mcp.CallToolRequest, _ json.RawMessage) *mcp.CallToolResult {
	var res struct {
		Apps []struct {
			Name    string `json:"name"`
			ID      string `json:"id"`
			Running bool   `json:"running"`
		} `json:"apps"`
		Missing []string `json:"missing"`
	}
	if err := s.link.call(ctx, "app.list", map[string]any{}, &res); err != nil {
		return refused(err)
	}
	var lines []string
	for _, a := range res.Apps {
		state := ""
		if a.Running {
			state = " (running)"
		}
		lines = append(lines, fmt.Sprintf("%s [%s]%s", a.Name, a.ID, state))
	}
	if len(res.Missing) > 0 {
		lines = append(lines, "allowed but not installed: "+strings.Join(res.Missing, ", "))
	}
	if len(lines) == 0 {
		lines = []string{"No apps are allowed."}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.Join(lines, "\n")}}, StructuredContent: res}
}

func openApp(ctx context.Context, s *Server, _ *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult {
	p, _ := decode[struct {
		App   string   `json:"app"`
		Files []string `json:"files"`
	}](args)
	files := make([]string, 0, len(p.Files))
	for _, f := range p.Files {
		abs, err := s.resolve(f)
		if err != nil {
			return failf("%v", err)
		}
		files = append(files, abs)
	}
	params := map[string]any{"app": p.App}
	if len(files) > 0 {
		params["files"] = files
	}
	var res json.RawMessage
	if err := s.link.call(ctx, "app.open", params, &res); err != nil {
		return refused(err)
	}
	var r struct {
		App  string `json:"app"`
		PIDs []int  `json:"pids"`
	}
	json.Unmarshal(res, &r)
	text := "Opened " + r.App
	if len(files) > 0 {
		text += " with " + strings.Join(files, ", ")
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, StructuredContent: res}
}
