//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gimme-tools/carapace/core/codeexec"
)

// TestWarmHelper runs escape probes through "sandbox-exec --warm" helpers
// from a codeexec.Pool, as the code service does: the request carries the
// spec, command, environment and directory; the confinement must be the
// same as for a helper started with them.
func TestWarmHelper(t *testing.T) {
	b := newBox(t)
	pool := codeexec.NewPool([]string{b.bin, "sandbox-exec", "--warm"}, codeexec.PoolOptions{})
	defer pool.Close()
	run := warmRunner(t, b, pool)
	newForeign(t).expect(t, run)
	p := b.project
	expect(t, "write .git/hooks/x", run("write", filepath.Join(p, ".git", "hooks", "x")), "denied EROFS")
	expect(t, "read ~/.ssh/id_rsa", run("read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "write in the project", run("write", filepath.Join(p, "ok")), "ok")
	expectConfined(t, run, "NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000")
	// One stage: no .git to protect.
	must(t, os.RemoveAll(filepath.Join(p, ".git")))
	expect(t, "one stage: write outside", run("write", filepath.Join(b.outside, "x")), "denied EACCES")
}
