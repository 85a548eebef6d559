// Package mcpserver is Carapace's Model Context Protocol server: the front
// door an MCP client (Claude Code, Claude Desktop, Cursor, Codex, VS Code,
// any client of the official SDKs) talks to, on stdio (Stdio) or over
// streamable HTTP on the local entry (HTTPHandler).
//
// It is an adapter, not an authority. Every tool call becomes one or more
// router calls made with the agent's own tokens (core/client); the router
// and the service decide, audit and act, exactly as for any other caller.
// The server never mints a token, never approves a shell command and never
// calls an owner-only method, even though it runs as the owner's uid. A
// refusal comes back as a tool result with isError set and the router's
// reason and hint, never as a protocol error.
//
// The file tools are a drop-in superset of the reference filesystem
// server (@modelcontextprotocol/server-filesystem): the same names, input
// schemas, annotations and result text, mapped onto the file service's
// methods; docs/mcp.md lists where Carapace answers differently. Only the
// tools whose audience the held tokens cover are listed.
package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gimme-tools/carapace/core/client"
)

// Options configures a Server.
type Options struct {
	// Socket is the router's socket ("" picks it as the CLI does:
	// $GIMME_SOCKET, the installed one, the dev stack's).
	Socket string
	// Tokens are the agent's capability tokens, at most one per audience
	// that matters (a later one for the same audience replaces an earlier).
	Tokens []string
	// Version is reported to clients in serverInfo.
	Version string
	Log     *slog.Logger
	// Dial connects to the router (default client.Dial on Socket).
	Dial func(ctx context.Context) (*client.Client, error)

	// viaSet is true when the router session already names the front
	// door (the HTTP transport's sessions are Via "mcp"): auth then does
	// not declare it, as the router takes that claim only on its socket.
	viaSet bool
}

// Server is an MCP server forwarding to the router.
type Server struct {
	link  *link
	mcp   *mcp.Server
	tools []*tool // those listed, by name
	home  string
}

// New dials the router, authenticates every token and builds the MCP
// server with the tools those tokens open. It fails when the router cannot
// be reached or refuses a token: an agent given a stale token learns it at
// start, not at its first call.
func New(ctx context.Context, opts Options) (*Server, error) {
	if len(opts.Tokens) == 0 {
		return nil, errors.New("no token: give one with --token, --token-file or $GIMME_TOKEN (the owner makes one with `carapace token issue --aud file --scope 'GET:~/Documents/*' --scope 'PUT:~/Documents/*' --ttl 8h`)")
	}
	dial := opts.Dial
	if dial == nil {
		sock := client.Socket(opts.Socket)
		dial = func(ctx context.Context) (*client.Client, error) { return client.Dial(ctx, sock) }
	}
	s := &Server{link: &link{dial: dial, tokens: opts.Tokens, viaSet: opts.viaSet}}
	s.home, _ = os.UserHomeDir()
	if _, err := s.link.connect(ctx); err != nil {
		return nil, err
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "carapace", Title: "Carapace", Version: version},
		&mcp.ServerOptions{Logger: log, Instructions: instructions})
	for _, t := range allTools() {
		if !s.link.has(t.aud) {
			continue
		}
		s.tools = append(s.tools, t)
		s.mcp.AddTool(t.def, s.handler(t))
	}
	sort.Slice(s.tools, func(i, j int) bool { return s.tools[i].def.Name < s.tools[j].def.Name })
	return s, nil
}

const instructions = "Every call goes through Carapace: the owner's router checks this agent's tokens, " +
	"the service acts inside its sandbox, and each call is audited. A refused call says why and what the owner could change. " +
	"Use absolute paths inside the directories list_allowed_directories names."

// Tools returns the names of the tools the server lists, sorted.
func (s *Server) Tools() []string {
	out := make([]string, len(s.tools))
	for i, t := range s.tools {
		out[i] = t.def.Name
	}
	return out
}

// Run serves one client over t (mcp.StdioTransport for stdio) until it
// disconnects or ctx ends.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	defer s.link.close()
	return s.mcp.Run(ctx, t)
}

// MCP returns the underlying SDK server (tests connect to it in memory).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Close drops the router connection.
func (s *Server) Close() { s.link.close() }

// tool is one MCP tool: its definition, the audience whose token it needs,
// and what it does with its checked arguments.
type tool struct {
	def *mcp.Tool
	aud string
	run func(ctx context.Context, s *Server, req *mcp.CallToolRequest, args json.RawMessage) *mcp.CallToolResult
}

// handler checks a call's arguments against the tool's input schema and
// runs it. Bad arguments are a tool error the model can correct, as the
// reference server reports them.
func (s *Server) handler(t *tool) mcp.ToolHandler {
	schema, err := parseSchema(t.def.InputSchema.(json.RawMessage))
	if err != nil {
		panic(fmt.Sprintf("tool %s: %v", t.def.Name, err)) // the tables are ours
	}
	return func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		args := req.Params.Arguments
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("{}")
		}
		if err := schema.validate(args); err != nil {
			return failf("invalid arguments for tool %s: %v", t.def.Name, err), nil
		}
		defer func() {
			if p := recover(); p != nil {
				res, err = failf("internal error in %s: %v", t.def.Name, p), nil
			}
		}()
		return t.run(ctx, s, req, args), nil
	}
}

// textResult is a successful result carrying text, with the same text as
// structured content, as the reference server answers.
func textResult(text string) *mcp.CallToolResult {
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: text}},
		StructuredContent: map[string]string{"content": text},
	}
}

// failf is a tool error: isError with the reason in text.
func failf(format string, args ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}, IsError: true}
}

// refused is a tool error for a router or service refusal.
func refused(err error) *mcp.CallToolResult { return failf("%s", refusal(err)) }

// decode unmarshals checked arguments.
func decode[T any](args json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(args, &v)
	return v, err
}

func allTools() []*tool {
	return append(fileTools(), commandTools()...)
}
