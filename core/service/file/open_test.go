//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
	"github.com/gimme-tools/carapace/core/service"
)

// openFile calls file.open and returns its result and descriptor.
func (e *env) openFile(path string, via service.Via) (*opened, error) {
	b, _ := json.Marshal(map[string]any{"path": path})
	res, err := e.m["file.open"](context.Background(), &service.Call{Method: "file.open", Params: b, Caller: cliCaller(via)})
	if err != nil {
		return nil, err
	}
	return res.(*opened), nil
}

func TestOpen(t *testing.T) {
	e := newEnv(t)
	o, err := e.openFile("~/Documents/a.txt", "unix")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(o.File())
	o.File().Close()
	var r ReadResult
	e.ok("file.read", map[string]any{"path": "~/Documents/a.txt"}, &r)
	res := o.Result().(*OpenResult)
	if err != nil || string(b) != "hello\n" || !res.FD || res.Size != 6 || res.Mtime != r.Mtime {
		t.Fatalf("open = %+v %q %v, want size 6, mtime %s, fd, hello", res, b, err, r.Mtime)
	}
	// The descriptor is read-only.
	o, _ = e.openFile("~/Documents/a.txt", "")
	if _, err := o.File().Write([]byte("x")); err == nil {
		t.Error("the descriptor file.open hands out is writable")
	}
	o.File().Close()
	// Only a caller on the Unix socket may receive one.
	for _, via := range []service.Via{"websocket", "relay", "xpc"} {
		_, err := e.openFile("~/Documents/a.txt", via)
		if errs.KindOf(err) != errs.Forbidden || errs.ReasonOf(err) != "fd_not_allowed" || errs.HintOf(err) == "" {
			t.Errorf("open via %s: %v, want forbidden fd_not_allowed with a hint", via, err)
		}
	}
}

// TestOpenAttackCorpus: file.open refuses every path file.read refuses,
// with the same reason, and what it opens holds no secret.
func TestOpenAttackCorpus(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "walk"}[walk], func(t *testing.T) {
			defer fsafe.ForceWalk(walk)()
			e := newEnv(t)
			e.plantAttacks(t)
			n := 0
			for _, a := range attacks(e) {
				if a.method != "file.read" {
					continue
				}
				n++
				path, _ := a.params["path"].(string)
				o, err := e.openFile(path, "unix")
				if err == nil {
					b, _ := io.ReadAll(o.File())
					o.File().Close()
					if strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "root:") {
						t.Errorf("open %q leaked %q", path, b)
					}
				}
				if a.kind == errs.Kind(0) {
					if err != nil {
						t.Errorf("open %q: %v, want success", path, err)
					}
					continue
				}
				if errs.KindOf(err) != a.kind || (a.reason != "" && string(errs.ReasonOf(err)) != a.reason) {
					t.Errorf("open %q: %v, want kind %d reason %q", path, err, a.kind, a.reason)
				}
			}
			if n < 20 {
				t.Fatalf("only %d read attacks in the corpus", n)
			}
		})
	}
}
