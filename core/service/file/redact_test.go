//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/redact"
	"github.com/gimme-tools/carapace/core/service"
)

// ghToken is a fake GitHub token, built from parts.
var ghToken = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

// fakeJWT is a token-shaped string whose payload carries agent; the file
// service reads the claim after its authorize hook (here: none) verified
// the token.
func fakeJWT(agent string) string {
	p, _ := json.Marshal(map[string]string{"agent": agent})
	return "e30." + base64.RawURLEncoding.EncodeToString(p) + ".sig"
}

// cliCaller is the owner's own CLI: its reads are not redacted.
func cliCaller(via service.Via) service.Caller {
	return service.Caller{Via: via, Owner: true, Token: fakeJWT(service.CLIAgent)}
}

// call runs method as caller, collecting the decisions it reports.
func (e *env) call(method string, params any, caller service.Caller) (json.RawMessage, []service.Decision, error) {
	b, _ := json.Marshal(params)
	var ds []service.Decision
	c := &service.Call{Method: method, Params: b, Caller: caller, Notify: func(m string, p any) error {
		if m == service.DecisionNote {
			ds = append(ds, p.(service.Decision))
		}
		return nil
	}}
	res, err := e.m[method](context.Background(), c)
	if err != nil {
		return nil, ds, err
	}
	out, _ := json.Marshal(res)
	return out, ds, nil
}

// TestReadRedacted: an agent reads a file with a secret in it: the secret
// is replaced, the audit decision counts it by rule (never the secret),
// and the owner's CLI reads the file as it is. A folder with redact:
// false reads unredacted for everyone.
func TestReadRedacted(t *testing.T) {
	e := newEnv(t)
	text := "package settings\n\nGITHUB = \"" + ghToken + "\"\nDEBUG = True\n"
	must(t, os.WriteFile(e.docs+"/settings.py", []byte(text), 0o644))
	ph := redact.Placeholder("github-pat", []byte(ghToken))
	for _, agent := range []string{"", "claude", "mcp"} {
		out, ds, err := e.call("file.read", map[string]any{"path": "~/Documents/settings.py"}, service.Caller{Owner: true, Token: fakeJWT(agent)})
		var r ReadResult
		if err != nil || json.Unmarshal(out, &r) != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.Content, ghToken) || !strings.Contains(r.Content, ph) || r.Length != len(text) || !r.EOF {
			t.Fatalf("agent %q read %+v", agent, r)
		}
		if len(ds) != 1 || ds[0].Redacted["github-pat"] != 1 || strings.Contains(ds[0].Reason, "ghp_") {
			t.Fatalf("decisions %+v", ds)
		}
	}
	// The CLI's claim from a caller that is not the owner is an agent's.
	out, _, _ := e.call("file.read", map[string]any{"path": "~/Documents/settings.py"}, service.Caller{Token: fakeJWT(service.CLIAgent)})
	if strings.Contains(string(out), ghToken) {
		t.Fatal("a non-owner with the CLI's agent name read the secret")
	}
	out, ds, err := e.call("file.read", map[string]any{"path": "~/Documents/settings.py"}, cliCaller("unix"))
	if err != nil || !strings.Contains(string(out), ghToken) || len(ds) != 0 {
		t.Fatalf("the owner's CLI read %s %v %v", out, ds, err)
	}

	cfg := Config{Home: e.home, Folders: []Folder{{Path: "~/Documents", NoRedact: true}}}
	s, err := New(cfg, service.AllowAll)
	must(t, err)
	defer s.Close()
	e.m = s.Methods()
	out, _, err = e.call("file.read", map[string]any{"path": "~/Documents/settings.py"}, service.Caller{})
	if err != nil || !strings.Contains(string(out), ghToken) {
		t.Fatalf("redact: false folder read %s %v", out, err)
	}
}

// TestReadRedactedChunks: reading a file in chunks of every size never
// yields a secret, whatever the chunk boundaries cut, and the chunks put
// together are the redacted file.
func TestReadRedactedChunks(t *testing.T) {
	e := newEnv(t)
	text := strings.Repeat("filler line\n", 20) + "token=" + ghToken + "\n" + strings.Repeat("x", 50) + ghToken + "\n"
	must(t, os.WriteFile(e.docs+"/chunks.txt", []byte(text), 0o644))
	want, _ := redact.Default().RedactString(text)
	for _, n := range []int{1, 3, 7, 16, 41, 100, 1000} {
		var got strings.Builder
		for off := 0; ; {
			out, _, err := e.call("file.read", map[string]any{"path": "~/Documents/chunks.txt", "offset": off, "length": n}, service.Caller{})
			var r ReadResult
			if err != nil || json.Unmarshal(out, &r) != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Content, "a1B2c3D4") {
				t.Fatalf("chunk %d at %d: %q", n, off, r.Content)
			}
			got.WriteString(r.Content)
			off += r.Length
			if r.EOF {
				break
			}
			if r.Length == 0 {
				t.Fatalf("no progress at %d", off)
			}
		}
		if got.String() != want {
			t.Fatalf("chunks of %d: %q, want %q", n, got.String(), want)
		}
	}
}

// TestSearchRedacted: search results hold no secret, and a query made of
// a secret's characters finds nothing (no oracle one character at a time).
func TestSearchRedacted(t *testing.T) {
	e := newEnv(t)
	must(t, os.WriteFile(e.docs+"/conf.txt", []byte("user=ada\ntoken="+ghToken+"\n"), 0o644))
	out, ds, err := e.call("file.search", map[string]any{"path": "~/Documents", "query": "token="}, service.Caller{})
	if err != nil || strings.Contains(string(out), ghToken) || !strings.Contains(string(out), "REDACTED:github-pat") || len(ds) != 1 {
		t.Fatalf("search: %s %v %v", out, ds, err)
	}
	out, _, err = e.call("file.search", map[string]any{"path": "~/Documents", "query": "ghp_a1B2"}, service.Caller{})
	var r SearchResult
	if err != nil || json.Unmarshal(out, &r) != nil || len(r.Matches) != 0 {
		t.Fatalf("a query of the secret's characters matched: %s %v", out, err)
	}
}

// TestOpenRedacted: a descriptor would carry raw bytes, so file.open is
// refused where reads are redacted, with a hint to read in chunks.
func TestOpenRedacted(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.call("file.open", map[string]any{"path": "~/Documents/a.txt"}, service.Caller{Via: "unix", Owner: true, Token: fakeJWT("claude")})
	if errs.KindOf(err) != errs.Forbidden || errs.ReasonOf(err) != "redacted" || errs.HintOf(err) == "" {
		t.Fatalf("open by an agent: %v", err)
	}
}
