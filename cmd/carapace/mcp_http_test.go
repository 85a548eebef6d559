package main

// MCP's streamable HTTP transport at http://127.0.0.1:PORT/mcp on the
// local entry: the Go SDK's client and raw HTTP against a real dev stack.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gimme-tools/carapace/core/token"
)

// bearerTransport adds "Authorization: Bearer <tokens>" to each request.
type bearerTransport struct{ tokens string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tokens)
	return http.DefaultTransport.RoundTrip(r)
}

// mcpHTTPSession connects the Go SDK's client to the entry's /mcp.
func mcpHTTPSession(t *testing.T, addr string, tokens ...string) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "carapace-test", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp",
		HTTPClient: &http.Client{Transport: bearerTransport{strings.Join(tokens, " ")}}}
	s, err := c.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect over HTTP: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mcpPost sends one raw JSON-RPC message to /mcp with the given headers.
func mcpPost(t *testing.T, addr, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"%s","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func TestMCPHTTP(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, func(home string) {
			os.WriteFile(filepath.Join(home, "Docs", "a.txt"), []byte("over http"), 0o644)
		})
	docs := filepath.Join(d.home, "Docs")
	tok := strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10m", "--sub", "agent:http-test"))

	// The Go SDK's client: initialize, the tools the token opens, a read,
	// a refusal as a tool error.
	s := mcpHTTPSession(t, addr, tok)
	names := toolNames(t, s)
	if !slices.Equal(names, referenceFileTools) {
		t.Errorf("tools over HTTP: %v", names)
	}
	if got, isErr := callTool(t, s, "read_text_file", map[string]any{"path": filepath.Join(docs, "a.txt")}); isErr || got != "over http" {
		t.Errorf("read over HTTP: %q isError=%v", got, isErr)
	}
	if got, isErr := callTool(t, s, "read_text_file", map[string]any{"path": "/etc/passwd"}); !isErr || !strings.Contains(got, "scope") {
		t.Errorf("read outside the scope over HTTP: %q isError=%v", got, isErr)
	}
	if got, isErr := callTool(t, s, "write_file", map[string]any{"path": filepath.Join(docs, "b.txt"), "content": "x"}); !isErr || !strings.Contains(got, "scope") {
		t.Errorf("write with a read-only token over HTTP: %q isError=%v", got, isErr)
	}

	// Raw HTTP: each revision's initialize answers, statelessly (no
	// Mcp-Session-Id), and a call needs no session first.
	for _, v := range []string{"2025-03-26", "2025-06-18", "2025-11-25"} {
		resp, body := mcpPost(t, addr, strings.Replace(initializeBody, "%s", v, 1), map[string]string{"Authorization": "Bearer " + tok})
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"serverInfo"`) || resp.Header.Get("Mcp-Session-Id") != "" {
			t.Errorf("initialize %s: %d %q session=%q", v, resp.StatusCode, body, resp.Header.Get("Mcp-Session-Id"))
		}
	}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"read_text_file","arguments":{"path":"` + filepath.Join(docs, "a.txt") + `"}}}`
	if resp, body := mcpPost(t, addr, call, map[string]string{"Authorization": "Bearer " + tok, "Mcp-Protocol-Version": "2025-06-18"}); resp.StatusCode != http.StatusOK || !strings.Contains(body, "over http") {
		t.Errorf("a call without initialize: %d %q", resp.StatusCode, body)
	}

	// No token: 401 with the Bearer challenge naming the metadata.
	resp, body := mcpPost(t, addr, call, nil)
	wa := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(wa, "Bearer ") || !strings.Contains(wa, `resource_metadata="http://`+addr+`/.well-known/oauth-protected-resource/mcp"`) {
		t.Errorf("no token: %d %q %q", resp.StatusCode, wa, body)
	}
	mresp, err := http.Get("http://" + addr + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	json.NewDecoder(mresp.Body).Decode(&meta)
	mresp.Body.Close()
	if meta["resource"] != "http://"+addr+"/mcp" {
		t.Errorf("metadata: %v", meta)
	}
	// A token the router refuses: 401, invalid_token.
	resp, body = mcpPost(t, addr, call, map[string]string{"Authorization": "Bearer not.a.token"})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("bad token: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	// DNS rebinding and a foreign page: refused before the token is read.
	if resp, body := mcpPost(t, addr, call, map[string]string{"Authorization": "Bearer " + tok, "Host": "evil.example:" + strings.Split(addr, ":")[1]}); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "host_not_allowed") {
		t.Errorf("foreign Host: %d %q", resp.StatusCode, body)
	}
	if resp, body := mcpPost(t, addr, call, map[string]string{"Authorization": "Bearer " + tok, "Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "origin_not_allowed") {
		t.Errorf("foreign Origin: %d %q", resp.StatusCode, body)
	}

	// Audited as via mcp, with the token's sub, never as the owner.
	tail := mustCLI(t, d, "audit", "tail", "-n", "100", "--json")
	found := false
	for _, l := range strings.Split(tail, "\n") {
		if strings.Contains(l, `"method":"file.read"`) && strings.Contains(l, `"via":"mcp"`) && strings.Contains(l, `"sub":"agent:http-test"`) {
			found = true
			if !strings.Contains(l, `"uid":-1`) {
				t.Errorf("an HTTP call's record has an OS identity: %s", l)
			}
		}
	}
	if !found {
		t.Errorf("audit lacks the HTTP read with via mcp:\n%s", tail)
	}
}

// TestMCPHTTPExpiredToken: a token that works, then expires: its next
// request is 401 invalid_token, though the HTTP transport keeps a server
// for its token set. The token is signed here with the stack's device
// key and expired already, all but a few seconds of the verifier's 30 s
// of leeway, so the test does not wait half a minute.
func TestMCPHTTPExpiredToken(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, nil)
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	var hdr map[string]string
	for window := 5 * time.Second; ; window *= 2 { // a busy machine may need a wider one
		tok := expiringToken(t, d, time.Now().Add(window-token.DefaultLeeway))
		hdr = map[string]string{"Authorization": "Bearer " + tok, "Mcp-Protocol-Version": "2025-06-18"}
		resp, body := mcpPost(t, addr, list, hdr)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if window > time.Minute {
			t.Fatalf("before expiry: %d %q", resp.StatusCode, body)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, body := mcpPost(t, addr, list, hdr)
		if resp.StatusCode == http.StatusUnauthorized {
			if wa := resp.Header.Get("WWW-Authenticate"); !strings.Contains(wa, `error="invalid_token"`) || !strings.Contains(wa, "expired") {
				t.Errorf("expired: %q %q", wa, body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d two minutes after the token expired: %q", resp.StatusCode, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// expiringToken signs, with the dev stack's device key, a token for
// GET:~/Docs/* that expires at exp.
func expiringToken(t *testing.T, d *devStack, exp time.Time) string {
	t.Helper()
	key, _, err := token.LoadOrCreate(token.FileKeyStore{Dir: filepath.Join(d.dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	exp = exp.Truncate(time.Second)
	c := token.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: token.DeviceIssuer(key.ID), Subject: "agent:expiry-test", Audience: jwt.ClaimStrings{token.AudFile},
			ExpiresAt: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(exp.Add(-time.Minute)),
			NotBefore: jwt.NewNumericDate(exp.Add(-time.Minute)), ID: fmt.Sprintf("expiry-%d", time.Now().UnixNano()),
		},
		Scope: []string{"GET:" + filepath.Join(d.home, "Docs") + "/*"}, DeviceID: key.ID,
	}
	j := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	j.Header["kid"] = key.ID
	s, err := j.SignedString(key.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMCPHTTPTokenSetsApart: the HTTP transport keeps the servers it
// built, each with its authenticated router session, per token set.
// Agents holding different tokens, calling at the same time, each see
// only their own directories and files, and their calls are audited
// under their own token, never another's.
func TestMCPHTTPTokenSetsApart(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, func(home string) {
			for _, n := range []string{"a", "b"} {
				os.MkdirAll(filepath.Join(home, "Docs", n), 0o755)
				os.WriteFile(filepath.Join(home, "Docs", n, "x.txt"), []byte("from "+n), 0o644)
			}
		})
	docs := filepath.Join(d.home, "Docs")
	mint := func(n string) string {
		return strings.TrimSpace(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Docs/"+n+"/*", "--ttl", "10m", "--sub", "agent:"+n))
	}
	tokA, tokB := mint("a"), mint("b")
	type agent struct {
		name   string
		tokens []string
		mine   []string // directories it may read
	}
	// Of two tokens for one service the later wins, so the order of a
	// set is part of it: "a b" reads b, "b a" reads a.
	agents := []agent{{"a", []string{tokA}, []string{"a"}}, {"b", []string{tokB}, []string{"b"}},
		{"a b", []string{tokA, tokB}, []string{"b"}}, {"b a", []string{tokB, tokA}, []string{"a"}}}
	var wg sync.WaitGroup
	for _, ag := range agents {
		for range 2 { // two sessions per token set, so the kept server is shared between them
			s := mcpHTTPSession(t, addr, ag.tokens...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 15 {
					dirs, err := callToolErr(s, "list_allowed_directories", map[string]any{})
					if err != nil {
						t.Errorf("%s: %v", ag.name, err)
						return
					}
					for _, n := range []string{"a", "b"} {
						want := slices.Contains(ag.mine, n)
						if got := strings.Contains(dirs, filepath.Join(docs, n)); got != want {
							t.Errorf("%s: list_allowed_directories %q: %s listed=%v", ag.name, dirs, n, got)
						}
						text, err := callToolErr(s, "read_text_file", map[string]any{"path": filepath.Join(docs, n, "x.txt")})
						if err != nil {
							t.Errorf("%s: %v", ag.name, err)
							return
						}
						if got := text == "from "+n; got != want {
							t.Errorf("%s: read of %s/x.txt: %q", ag.name, n, text)
						}
					}
				}
			}()
		}
	}
	wg.Wait()

	tail := mustCLI(t, d, "audit", "tail", "-n", "1000", "--json")
	for _, l := range strings.Split(tail, "\n") {
		if !strings.Contains(l, `"method":"file.read"`) || !strings.Contains(l, `"via":"mcp"`) {
			continue
		}
		for _, n := range []string{"a", "b"} {
			if strings.Contains(l, filepath.Join(docs, n, "x.txt")) && strings.Contains(l, `"decision":"allow`) &&
				!strings.Contains(l, `"sub":"agent:`+n+`"`) {
				t.Errorf("a read of %s/x.txt allowed under another token: %s", n, l)
			}
		}
	}
}

// callToolErr is callTool for a goroutine: a protocol error is returned.
func callToolErr(s *mcp.ClientSession, name string, args any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	var texts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			texts = append(texts, tc.Text)
		}
	}
	return strings.Join(texts, "\n"), nil
}

// TestMCPHTTPRevokedToken: a token revoked while its server is kept: the
// next call is a tool error with the router's reason, and the request
// after it is 401 again, as without the cache.
func TestMCPHTTPRevokedToken(t *testing.T) {
	addr := freePort(t)
	d := startDevWith(t, "services:\n  file: {enabled: true, paths: [~/Docs]}\n  code: {enabled: false}\n",
		"websocket: {listen: \""+addr+"\"}\n", nil, nil)
	var issued struct{ Token, JTI string }
	json.Unmarshal([]byte(mustCLI(t, d, "token", "issue", "--aud", "file", "--scope", "GET:~/Docs/*", "--ttl", "10m", "--json")), &issued)
	hdr := map[string]string{"Authorization": "Bearer " + issued.Token, "Mcp-Protocol-Version": "2025-06-18"}
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_directory","arguments":{"path":"` + filepath.Join(d.home, "Docs") + `"}}}`
	if resp, body := mcpPost(t, addr, call, hdr); resp.StatusCode != http.StatusOK || strings.Contains(body, `"isError":true`) {
		t.Fatalf("before revocation: %d %q", resp.StatusCode, body)
	}
	mustCLI(t, d, "token", "revoke", issued.JTI)
	if resp, body := mcpPost(t, addr, call, hdr); resp.StatusCode != http.StatusUnauthorized &&
		(!strings.Contains(body, `"isError":true`) || !strings.Contains(body, "revoked")) {
		t.Errorf("the call after revocation: %d %q", resp.StatusCode, body)
	}
	resp, body := mcpPost(t, addr, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, hdr)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "revoked") {
		t.Errorf("the request after a refused call: %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
}
