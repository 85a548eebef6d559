//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// env is a home directory with allowed folders and secrets around them:
//
//	home/Documents            rw, extra deny "*.secret"
//	home/Documents/Reference  ro (nested)
//	home/Notes                ro
//	home/Documents-old        not allowed (look-alike prefix)
//	home/.ssh/id_rsa          not allowed
//	outside/                  not allowed
//	home/Documents/.env, .git/config, key.pem, x.secret: deny-listed
//
// Every file a caller must never see holds the word SECRET.
type env struct {
	t                                     testing.TB
	s                                     *Service
	m                                     map[string]service.Handler
	base, home, docs, ref, notes, outside string
	mu                                    sync.Mutex
	calls                                 []string // verb path, as authorize saw them
	deny                                  func(verb, path string) bool
}

func newEnv(t testing.TB) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{t: t, base: base, home: base + "/home", outside: base + "/outside"}
	e.docs, e.ref, e.notes = e.home+"/Documents", e.home+"/Documents/Reference", e.home+"/Notes"
	files := map[string]string{
		e.docs + "/a.txt":            "hello\n",
		e.docs + "/sub/b.txt":        "bee\n",
		e.docs + "/.env":             "SECRET=env\n",
		e.docs + "/.git/config":      "SECRET git\n",
		e.docs + "/.git/HEAD":        "ref: main\n",
		e.docs + "/key.pem":          "SECRET pem\n",
		e.docs + "/x.secret":         "SECRET x\n",
		e.docs + "/proj/.ssh/id":     "SECRET ssh\n",
		e.ref + "/r.txt":             "reference\n",
		e.notes + "/n.txt":           "note\n",
		e.home + "/Documents-old/o":  "SECRET old\n",
		e.home + "/.ssh/id_rsa":      "SECRET rsa\n",
		e.outside + "/secret.txt":    "SECRET outside\n",
		e.outside + "/dir/inner.txt": "SECRET inner\n",
	}
	for p, c := range files {
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(c), 0o644))
	}
	cfg := Config{
		Home: e.home,
		Folders: []Folder{
			{Path: "~/Documents", Deny: []string{"*.secret"}},
			{Path: "~/Documents/Reference", ReadOnly: true},
			{Path: e.notes, ReadOnly: true},
			{Path: "~/Missing"},
		},
	}
	s, err := New(cfg, func(call *service.Call, verb, p string) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls = append(e.calls, verb+" "+p)
		if e.deny != nil && e.deny(verb, p) {
			return errs.E(errs.Forbidden, errs.Reason("scope"))
		}
		return nil
	})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	e.s, e.m = s, s.Methods()
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do calls method through the route table with params marshalled as JSON,
// and returns the result marshalled as JSON, as the router would see them.
func (e *env) do(method string, params any) (json.RawMessage, error) {
	b, err := json.Marshal(params)
	must(e.t, err)
	h, ok := e.m[method]
	if !ok {
		e.t.Fatalf("no method %s", method)
	}
	res, err := h(context.Background(), &service.Call{Method: method, Params: b})
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(res)
	must(e.t, err)
	return out, nil
}

// ok calls method and fails the test on an error, decoding into v.
func (e *env) ok(method string, params any, v any) {
	e.t.Helper()
	out, err := e.do(method, params)
	if err != nil {
		e.t.Fatalf("%s %v: %v", method, params, err)
	}
	if v != nil {
		must(e.t, json.Unmarshal(out, v))
	}
}

// fails calls method and checks the error's kind and reason.
func (e *env) fails(method string, params any, kind errs.Kind, reason string) {
	e.t.Helper()
	out, err := e.do(method, params)
	if err == nil {
		e.t.Errorf("%s %v succeeded (%s), want %v %s", method, params, out, kind, reason)
		return
	}
	if errs.KindOf(err) != kind || (reason != "" && string(errs.ReasonOf(err)) != reason) {
		e.t.Errorf("%s %v: %v (kind %d, reason %q), want kind %d reason %q", method, params, err, errs.KindOf(err), errs.ReasonOf(err), kind, reason)
	}
	if errs.HintOf(err) == "" && kind != errs.InvalidParams {
		e.t.Errorf("%s %v: error %v has no hint", method, params, err)
	}
}

// snapshot hashes every file and link under dirs, so a test can assert
// nothing there changed.
func snapshot(t testing.TB, dirs ...string) string {
	t.Helper()
	var lines []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			info, _ := de.Info()
			line := fmt.Sprintf("%s %v", p, info.Mode())
			if info.Mode().IsRegular() {
				b, _ := os.ReadFile(p)
				line += fmt.Sprintf(" %x", sha256.Sum256(b))
			} else if info.Mode()&fs.ModeSymlink != 0 {
				l, _ := os.Readlink(p)
				line += " -> " + l
			}
			lines = append(lines, line)
			return nil
		})
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// protected returns what must never change: everything outside the allowed
// folders, and the deny-listed files inside.
func (e *env) protected() string {
	return snapshot(e.t, e.outside, e.home+"/Documents-old", e.home+"/.ssh",
		e.docs+"/.env", e.docs+"/.git/config", e.docs+"/key.pem", e.docs+"/x.secret", e.docs+"/proj/.ssh", e.ref, e.notes)
}
