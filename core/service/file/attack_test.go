//go:build linux || darwin || freebsd || netbsd || openbsd

package file

import (
	"os"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/fsafe"
)

// attackLinks are planted in ~/Documents for the corpus.
func (e *env) plantAttacks(t testing.TB) {
	links := map[string]string{
		"out":     "../../outside/secret.txt",
		"absout":  e.outside + "/secret.txt",
		"dirout":  e.outside,
		"reldir":  "../../outside/dir",
		"chain1":  "chain2",
		"chain2":  "sub/../chain3",
		"chain3":  "../Documents-old/o",
		"envlink": ".env",
		"envdir":  ".git",
		"sshlink": "../.ssh/id_rsa",
		"proc":    "/proc/self/root/etc/passwd",
		"procfd":  "/proc/self/fd/0",
		"proccwd": "/proc/self/cwd",
		"reflink": "Reference",
		"loop":    "loop",
		"homelnk": "..",
		"rootlnk": "/",
	}
	for name, target := range links {
		must(t, os.Symlink(target, e.docs+"/"+name))
	}
	must(t, os.Link(e.outside+"/secret.txt", e.docs+"/hard"))
}

type attack struct {
	method string
	params map[string]any
	kind   errs.Kind // 0 ("ok") for success
	reason string
}

func p(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func attacks(e *env) []attack {
	F, N, I, ok := errs.Forbidden, errs.NotFound, errs.InvalidParams, errs.Kind(0)
	rd := func(path string, kind errs.Kind, reason string) attack {
		return attack{"file.read", p("path", path), kind, reason}
	}
	wr := func(path, mode string, kind errs.Kind, reason string) attack {
		return attack{"file.write", p("path", path, "content", "PWNED", "mode", mode), kind, reason}
	}
	return []attack{
		// Traversal and prefix look-alikes: refused before any file is touched.
		rd("~/Documents/../.ssh/id_rsa", F, "outside_allowed"),
		rd("~/Documents/../Documents-old/o", F, "outside_allowed"),
		rd("~/Documents-old/o", F, "outside_allowed"),
		rd(e.home+"/Documents-old/o", F, "outside_allowed"),
		rd("~/Documents/./././../.ssh/id_rsa", F, "outside_allowed"),
		rd("~/Documents/sub/../../.ssh/id_rsa", F, "outside_allowed"),
		rd("~/Documents/../../outside/secret.txt", F, "outside_allowed"),
		rd("/etc/passwd", F, "outside_allowed"),
		rd("/proc/self/root/etc/passwd", F, "outside_allowed"),
		rd("/proc/self/cwd/"+e.outside+"/secret.txt", F, "outside_allowed"),
		rd("//"+e.home+"/.ssh/id_rsa", F, "outside_allowed"),
		rd("~", F, "outside_allowed"),
		// Encoded forms are just names.
		rd("~/Documents/%2e%2e/Documents-old/o", N, "not_found"),
		rd("~/Documents/..%2f.ssh%2fid_rsa", N, "not_found"),
		rd("~/Documents/..\\..\\outside\\secret.txt", N, "not_found"),
		rd("~/Documents/a.txt/", ok, ""),
		rd("~/Documents//sub///b.txt/.", ok, ""),
		// Links out, in every shape.
		rd("~/Documents/out", F, "symlink_escape"),
		rd("~/Documents/absout", F, "symlink_escape"),
		rd("~/Documents/dirout/secret.txt", F, "symlink_escape"),
		rd("~/Documents/reldir/inner.txt", F, "symlink_escape"),
		rd("~/Documents/chain1", F, "symlink_escape"),
		rd("~/Documents/sshlink", F, "symlink_escape"),
		rd("~/Documents/homelnk/Documents-old/o", F, "symlink_escape"),
		rd("~/Documents/rootlnk/etc/passwd", F, "symlink_escape"),
		rd("~/Documents/proc", F, "symlink_escape"),
		rd("~/Documents/procfd", F, "symlink_escape"),
		rd("~/Documents/proccwd/outside/secret.txt", F, "symlink_escape"),
		rd("~/Documents/loop", errs.Failed, "too_many_links"),
		// A link inside to a deny-listed name, and deny-listed names.
		rd("~/Documents/envlink", F, "denied_by_rule"),
		rd("~/Documents/envdir/config", F, "denied_by_rule"),
		rd("~/Documents/.env", F, "denied_by_rule"),
		rd("~/Documents/.ENV", F, "denied_by_rule"),
		rd("~/Documents/.env.local", F, "denied_by_rule"),
		rd("~/Documents/.git/config", F, "denied_by_rule"),
		rd("~/Documents/key.pem", F, "denied_by_rule"),
		rd("~/Documents/x.secret", F, "denied_by_rule"),
		rd("~/Documents/proj/.ssh/id", F, "denied_by_rule"),
		rd("~/Documents/id_ed25519.pub", F, "denied_by_rule"),
		// A hard link to a file outside.
		rd("~/Documents/hard", F, "hard_link"),
		// Malformed paths.
		rd("", I, "empty_path"),
		rd("a.txt", I, "relative_path"),
		rd("Documents/a.txt", I, "relative_path"),
		rd("../outside/secret.txt", I, "relative_path"),
		rd("~root/.ssh/id_rsa", I, "bad_path"),
		rd("~/Documents/a\x00.txt", I, "bad_path"),
		rd("~/Documents/"+strings.Repeat("a/", 2100), I, "path_too_long"),
		rd("~/Documents/"+strings.Repeat("a", 300), I, "path_too_long"),
		// Writes.
		wr("~/Documents/out", "append", F, "symlink_escape"),
		wr("~/Documents/dirout/new.txt", "create", F, "symlink_escape"),
		wr("~/Documents/dirout/secret.txt", "overwrite", F, "symlink_escape"),
		wr("~/Documents/reflink/new.txt", "create", F, "read_only"),
		wr("~/Documents/Reference/r.txt", "overwrite", F, "read_only"),
		wr("~/Notes/n.txt", "overwrite", F, "read_only"),
		wr("~/Documents/hard", "append", F, "hard_link"),
		wr("~/Documents/.env", "overwrite", F, "denied_by_rule"),
		wr("~/Documents/envdir/config", "overwrite", F, "denied_by_rule"),
		wr("~/Documents/../.ssh/authorized_keys", "create", F, "outside_allowed"),
		wr("~/Documents/sub/.ssh/authorized_keys", "create", F, "denied_by_rule"),
		wr("~/Documents", "overwrite", I, "is_directory"),
		// Other methods.
		{"file.delete", p("path", "~/Documents/dirout/secret.txt"), F, "symlink_escape"},
		{"file.delete", p("path", "~/Documents/reflink/r.txt"), F, "read_only"},
		{"file.delete", p("path", "~/Documents/.env"), F, "denied_by_rule"},
		{"file.delete", p("path", "~/Documents/envdir", "recursive", true), ok, ""}, // the link only
		{"file.delete", p("path", "~/Documents", "recursive", true), F, "allowed_folder"},
		{"file.delete", p("path", "~/Documents/Reference", "recursive", true), F, "read_only"},
		{"file.move", p("from", "~/Documents/a.txt", "to", "~/Documents/dirout/a.txt"), F, "symlink_escape"},
		{"file.move", p("from", "~/Documents/dirout/secret.txt", "to", "~/Documents/s.txt"), F, "symlink_escape"},
		{"file.move", p("from", "~/Documents/.env", "to", "~/Documents/env.txt"), F, "denied_by_rule"},
		{"file.move", p("from", "~/Documents/a.txt", "to", "~/Documents-old/a.txt"), F, "outside_allowed"},
		{"file.move", p("from", "~/Documents/a.txt", "to", "~/Documents/.ssh"), F, "denied_by_rule"},
		{"file.move", p("from", "~/Notes/n.txt", "to", "~/Documents/n.txt"), F, "read_only"},
		{"file.list", p("path", "~/Documents/dirout"), F, "symlink_escape"},
		{"file.list", p("path", "~/Documents/homelnk"), F, "symlink_escape"},
		{"file.list", p("path", "~/Documents/proj/.ssh"), F, "denied_by_rule"},
		{"file.list", p("path", "~/Documents/.."), F, "outside_allowed"},
		{"file.search", p("path", "~/Documents/dirout", "query", "SECRET"), F, "symlink_escape"},
		{"file.search", p("path", "~/Documents", "query", "SECRET"), ok, ""},
		{"file.mkdir", p("path", "~/Documents/dirout/x"), F, "symlink_escape"},
		{"file.mkdir", p("path", "~/Documents/.ssh"), F, "denied_by_rule"},
		{"file.mkdir", p("path", "~/Documents/reflink/x", "parents", true), F, "read_only"},
		{"file.stat", p("path", "~/Documents/dirout/secret.txt"), F, "symlink_escape"},
		{"file.stat", p("path", "~/Documents/.env"), F, "denied_by_rule"},
		{"file.stat", p("path", "~/Documents/out"), ok, ""}, // the link itself
	}
}

// TestAttackCorpus runs every attack against the service, with the
// kernel's one-call resolution and with the component walk, and checks that
// each is refused as expected, that no result carries a secret, and that
// nothing outside the folders (or deny-listed inside) changed.
func TestAttackCorpus(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "walk"}[walk], func(t *testing.T) {
			defer fsafe.ForceWalk(walk)()
			e := newEnv(t)
			e.plantAttacks(t)
			before := e.protected()
			for _, a := range attacks(e) {
				out, err := e.do(a.method, a.params)
				if strings.Contains(string(out), "SECRET") || strings.Contains(string(out), "root:") {
					t.Errorf("%s %v leaked: %s", a.method, a.params, out)
				}
				if a.kind == errs.Kind(0) {
					if err != nil {
						t.Errorf("%s %v: %v, want success", a.method, a.params, err)
					}
					continue
				}
				e.fails(a.method, a.params, a.kind, a.reason)
			}
			if after := e.protected(); after != before {
				t.Errorf("protected files changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}
