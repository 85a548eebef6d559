package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gimme-tools/carapace/core/audit"
)

const routeToken = "ghp_e2eRouteToken0123456789abcdefghijkl"

// TestExecWithRoute drives a credential route through a real dev stack:
// the owner stores a token with `carapace secret set`, a route names an
// upstream stand-in, and a sandboxed command calls it through the proxy,
// with and without the proxy variables. The upstream gets the token;
// the command's environment and output never hold it; each use is an
// audit record naming the route, method, path, status and bytes. As the
// current user (root here) and as a created ordinary user.
func TestExecWithRoute(t *testing.T) {
	t.Run("current", func(t *testing.T) { execWithRoute(t, nil) })
	t.Run("ordinary", func(t *testing.T) { execWithRoute(t, testUser(t)) })
}

func execWithRoute(t *testing.T, cred *syscall.Credential) {
	if runtime.GOOS != "linux" {
		t.Skip("commands get network only on Linux (docs/network.md)")
	}
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("no /usr/bin/curl")
	}
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		fmt.Fprintf(w, "path=%s auth=%s", r.URL.Path, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	owner := "services:\n  code:\n    enabled: true\n    project_roots: [~/Projects]\n    network:\n      routes:\n        github: {upstream: \"" + up.URL + "/api\", header: \"Authorization: Bearer {secret}\"}\n"
	d := startDevWith(t, owner, "", cred, func(home string) {
		set := exec.Command(binPath, "secret", "set", "github")
		set.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		set.Stdin = strings.NewReader(routeToken + "\n")
		if out, err := set.CombinedOutput(); err != nil {
			t.Fatalf("secret set: %v %s", err, out)
		}
	})
	if out, _, code := d.cli("secret", "list"); cred == nil && (code != 0 || out != "github\n") {
		t.Errorf("secret list: %d %q", code, out)
	}
	proj := filepath.Join(d.home, "Projects", "demo")
	script := `env; echo ---; curl -sS --max-time 20 "$CREDENTIAL_ROUTES_URL/github/user"; echo; curl -sS --noproxy '*' --max-time 20 "$CREDENTIAL_ROUTES_URL/github/repos"; echo; curl -sS --max-time 20 "$CREDENTIAL_ROUTES_URL/gitlab/x"`
	out, errOut, code := d.cliAs(cred, "exec", "--cwd", proj, "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exec: %d %q %q\nstack:\n%s", code, out, errOut, d.stderrText())
	}
	if strings.Contains(out+errOut, routeToken) {
		t.Errorf("the command saw the token: %q", out)
	}
	for _, want := range []string{"path=/api/user auth=Bearer [REDACTED:route-github:", "path=/api/repos auth=Bearer [REDACTED:route-github:", `no route \"gitlab\"`} {
		if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, `\"`, `"`)) {
			t.Errorf("output lacks %q: %q", want, out)
		}
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != "Bearer "+routeToken || seen[1] != "Bearer "+routeToken {
		t.Errorf("upstream saw %q", seen)
	}
	mu.Unlock()
	var used, refused int
	for _, r := range auditRecords(t, d) {
		if r.Method != "code.execute" || r.By != audit.ByEgress {
			continue
		}
		switch {
		case r.Decision == audit.Allow && strings.Contains(r.Reason, "network route github: GET 127.0.0.1:") && strings.Contains(r.Reason, "/api/") && strings.Contains(r.Reason, "→ 200"):
			used++
		case r.Decision == audit.Deny && strings.Contains(r.Reason, `no route "gitlab"`):
			refused++
		}
	}
	if used != 2 || refused != 1 {
		t.Errorf("audit: %d uses, %d refusals recorded", used, refused)
	}
}
