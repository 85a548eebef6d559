package router_test

import (
	"encoding/json"
	"testing"

	"github.com/gimme-tools/carapace/core/router"
	"github.com/gimme-tools/carapace/core/scope"
)

// FuzzResources: the resource functions decode untrusted params. They
// never panic, name only real verbs, and a call they accept names what
// the service itself will read from the same params.
func FuzzResources(f *testing.F) {
	for _, s := range []struct{ method, params string }{
		{"code.execute", `{"command":"ls","cwd":"/home/a/Projects/x"}`},
		{"code.execute", `{"command":"ls"}`},
		{"code.execute", `{"cwd":"/a","CWD":"/b"}`},
		{"file.move", `{"from":"/d/a","to":"/e/b"}`},
		{"file.read", `{"path":"/d/x"}`},
		{"app.activate", `{"app":"Terminal"}`},
		{"shell.execute", `{"cwd":"/h"}`},
		{"code.info", `null`},
		{"file.read", `[1,2]`},
	} {
		f.Add(s.method, []byte(s.params))
	}
	verbs := map[string]bool{scope.GET: true, scope.PUT: true, scope.DELETE: true, scope.POST: true}
	f.Fuzz(func(t *testing.T, method string, params []byte) {
		for svc, fn := range router.DefaultResources {
			acc, err := fn(method, json.RawMessage(params))
			if err != nil {
				continue
			}
			for _, a := range acc {
				if !verbs[a.Verb] || a.Resource == "" {
					t.Fatalf("%s %s %q: %+v", svc, method, params, a)
				}
			}
			if method == "code.execute" && svc == "code" {
				var p struct{ Cwd string }
				json.Unmarshal(params, &p)
				if len(acc) != 1 || (p.Cwd != "" && acc[0].Resource != p.Cwd) {
					t.Fatalf("code.execute %q: %+v, service reads cwd %q", params, acc, p.Cwd)
				}
			}
		}
	})
}
