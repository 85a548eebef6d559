//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// TestWarmHelper runs escape probes through "sandbox-exec --warm" helpers
// from a codeexec.Pool, as the code service does: the request carries the
// spec, command, environment and directory; the confinement must be the
// same as for a helper started with them.
func TestWarmHelper(t *testing.T) {
	b := newBox(t)
	pool := codeexec.NewPool([]string{b.bin, "sandbox-exec", "--warm"}, codeexec.PoolOptions{})
	defer pool.Close()
	run := func(probe ...string) string {
		t.Helper()
		wrapped, err := wrap(b.spec, append([]string{b.bin, "probe"}, probe...))
		must(t, err)
		env := append(b.spec.Env(os.Environ(), nil), "SSH_AUTH_SOCK=/run/agent.sock", "GIMME_X=leak")
		req := sandbox.Request{Args: wrapped[2:], Env: env, Dir: b.project}
		res, err := codeexec.Run(context.Background(), codeexec.Command{Path: b.bin, Pool: pool, Request: req.Encode()})
		must(t, err)
		return strings.TrimSpace(res.Stdout + res.Stderr)
	}
	p := b.project
	expect(t, "write .git/hooks/x", run("write", filepath.Join(p, ".git", "hooks", "x")), "denied EROFS")
	expect(t, "read ~/.ssh/id_rsa", run("read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "write in the project", run("write", filepath.Join(p, "ok")), "ok")
	// GOMAXPROCS=1 is the helper's own start environment (codeexec):
	// the command gets the request's, nothing else.
	if env := run("env"); strings.Contains(env, "SSH_AUTH_SOCK") || strings.Contains(env, "GIMME_X") ||
		os.Getenv("GOMAXPROCS") == "" && strings.Contains(env, "GOMAXPROCS") {
		t.Errorf("environment leaks:\n%s", env)
	}
	status := run("status")
	for _, want := range []string{"NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000"} {
		if !strings.Contains(status, want) {
			t.Errorf("/proc/self/status lacks %q:\n%s", want, status)
		}
	}
	// One stage: no .git to protect.
	must(t, os.RemoveAll(filepath.Join(p, ".git")))
	expect(t, "one stage: write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
}
