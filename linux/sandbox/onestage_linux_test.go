//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOneStage runs the escape probes on the one-stage path: a project
// without .git (no read-only mounts), and the helper born inside a
// service pids cgroup (as the code service runs it as root; an ordinary
// user has no per-command cgroup anyway). The command is then forked
// from a confined thread of the helper itself.
func TestOneStage(t *testing.T) {
	b := newBox(t)
	must(t, os.RemoveAll(filepath.Join(b.project, ".git")))
	cg := ""
	if os.Geteuid() == 0 {
		for _, base := range pidsCgroupDirs() {
			dir := filepath.Join(base, serviceCgroupPrefix+"test-"+strconv.Itoa(os.Getpid()))
			if os.Mkdir(dir, 0o700) == nil && os.WriteFile(filepath.Join(dir, "pids.max"), []byte("64"), 0) == nil {
				cg = dir
				t.Cleanup(func() { os.Remove(dir) })
				break
			}
		}
		if cg == "" {
			t.Skip("no writable pids cgroup to stand in for the service's")
		}
	}
	probe := func(args ...string) string {
		t.Helper()
		cmd := b.command(append([]string{b.bin, "probe"}, args...)...)
		if cg != "" { // join the stand-in service cgroup, then become the helper
			cmd.Args = append([]string{"sh", "-c", `echo $$ > "$0/cgroup.procs" && shift && exec "$@"`, cg, "--", cmd.Path}, cmd.Args[1:]...)
			cmd.Path = "/bin/sh"
		}
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if p := probe("parent"); strings.Contains(p, "--stage2") || !strings.Contains(p, "sandbox-exec") {
		t.Fatalf("not the one-stage path: the command's parent is %q", p)
	}
	addr, seen := listener(t)
	expect(t, "write outside", probe("write", filepath.Join(b.outside, "x")), "denied EACCES")
	expect(t, "read ~/.ssh/id_rsa", probe("read", filepath.Join(b.home, ".ssh", "id_rsa")), "denied EACCES")
	expect(t, "write in the project", probe("write", filepath.Join(b.project, "ok")), "ok")
	expect(t, "tcp to a loopback listener", probe("tcp", addr), "denied EPERM")
	expect(t, "ptrace the test process", probe("ptrace", strconv.Itoa(os.Getpid())), "denied EPERM")
	expect(t, "signal the test process", probe("kill", strconv.Itoa(os.Getpid())), "denied EPERM")
	expect(t, "unshare", probe("unshare"), "denied EPERM")
	if seen.Load() != 0 {
		t.Fatal("the listener saw a connection from the sandbox")
	}
	expectConfined(t, probe, "NoNewPrivs: 1", "Seccomp: 2", "CapEff: 0000000000000000")
	newForeign(t).expect(t, probe)
}
