//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/service"
)

// TestProtectAndDenyWriteConfig: Carapace's state directory inside an
// allowed folder (Config.Protect) and a folder's own deny_write globs
// refuse writes and moves there, or of a directory holding them, and
// still allow reads.
func TestProtectAndDenyWriteConfig(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, "var", "state")
	for name, text := range map[string]string{"var/state/revoked.json": "[]", "Makefile": "all:\n", "a.txt": "a"} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
		must(t, os.WriteFile(filepath.Join(root, name), []byte(text), 0o644))
	}
	s, err := New(Config{Folders: []Folder{{Path: root, DenyWrite: []string{"Makefile"}}}, Protect: []string{state}}, service.AllowAll)
	must(t, err)
	defer s.Close()
	m := s.Methods()
	call := func(method string, params map[string]any) error {
		b, _ := json.Marshal(params)
		_, err := m[method](context.Background(), &service.Call{Method: method, Params: b})
		return err
	}
	for _, a := range []struct {
		method string
		params map[string]any
	}{
		{"file.write", p("path", filepath.Join(state, "revoked.json"), "content", "x", "mode", "overwrite")},
		{"file.write", p("path", filepath.Join(state, "new"), "content", "x")},
		{"file.move", p("from", filepath.Join(root, "var"), "to", filepath.Join(root, "var2"))},
		{"file.delete", p("path", filepath.Join(root, "var"), "recursive", true)},
		{"file.write", p("path", filepath.Join(root, "Makefile"), "content", "x", "mode", "overwrite")},
	} {
		if err := call(a.method, a.params); errs.KindOf(err) != errs.Forbidden || errs.ReasonOf(err) != "write_denied_by_rule" {
			t.Errorf("%s %v: %v, want write_denied_by_rule", a.method, a.params, err)
		}
	}
	for _, rd := range []string{filepath.Join(state, "revoked.json"), filepath.Join(root, "Makefile")} {
		if err := call("file.read", p("path", rd)); err != nil {
			t.Errorf("read %s: %v", rd, err)
		}
	}
	if _, err := New(Config{Folders: []Folder{{Path: root, DenyWrite: []string{"[x"}}}}, service.AllowAll); err == nil {
		t.Error("a bad deny_write glob was accepted")
	}
}

// TestHooksPathTargetsDenyWrite: a repository's core.hooksPath (any
// name) and included config files are refused for writes like its .git.
func TestHooksPathTargetsDenyWrite(t *testing.T) {
	root := t.TempDir()
	for name, text := range map[string]string{
		"proj/.git/config":         "[core]\n\thooksPath = ci/hooks\n[include]\n\tpath = ../shared.gitconfig\n",
		"proj/ci/hooks/pre-commit": "#!/bin/sh\n",
		"proj/ci/build.sh":         "make\n",
		"proj/shared.gitconfig":    "[core]\n",
		"wt/.git":                  "gitdir: ../proj/.git\n",
	} {
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755))
		must(t, os.WriteFile(filepath.Join(root, name), []byte(text), 0o644))
	}
	s, err := New(Config{Folders: []Folder{{Path: root}}}, service.AllowAll)
	must(t, err)
	defer s.Close()
	m := s.Methods()
	call := func(method string, params map[string]any) error {
		b, _ := json.Marshal(params)
		_, err := m[method](context.Background(), &service.Call{Method: method, Params: b})
		return err
	}
	for _, a := range []struct {
		method string
		params map[string]any
	}{
		{"file.write", p("path", filepath.Join(root, "proj/ci/hooks/pre-commit"), "content", "x", "mode", "overwrite")},
		{"file.write", p("path", filepath.Join(root, "proj/ci/hooks/post-checkout"), "content", "x")},
		{"file.write", p("path", filepath.Join(root, "proj/shared.gitconfig"), "content", "x", "mode", "overwrite")},
		{"file.move", p("from", filepath.Join(root, "proj/ci"), "to", filepath.Join(root, "proj/ci2"))},
		{"file.mkdir", p("path", filepath.Join(root, "wt/ci/hooks"), "parents", true)},
	} {
		if err := call(a.method, a.params); errs.ReasonOf(err) != "write_denied_by_rule" {
			t.Errorf("%s %v: %v, want write_denied_by_rule", a.method, a.params, err)
		}
	}
	if err := call("file.write", p("path", filepath.Join(root, "proj/ci/build.sh"), "content", "make all\n", "mode", "overwrite")); err != nil {
		t.Errorf("write beside the hooks: %v", err)
	}
}
