//go:build linux

package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// reuseBox runs shell scripts through warm helpers started as the code
// service starts them (their own namespaces; root inside a stand-in
// service cgroup, so that commands take the one-stage path), with a Kind
// as the service gives it: the caller's name and the Spec's ReuseKey.
type reuseBox struct {
	*box
	pool *codeexec.Pool
}

func newReuseBox(t *testing.T) *reuseBox {
	t.Helper()
	b := newBox(t)
	cg := standInServiceCgroup(t)
	ws, err := warmHelper()
	must(t, err)
	argv := []string{b.bin, "sandbox-exec", "--warm"}
	if cg != "" { // join the stand-in service cgroup, then become the helper
		argv = append([]string{"/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && shift && exec "$@"`, cg, "--"}, argv...)
	}
	pool := codeexec.NewPool(argv, codeexec.PoolOptions{Size: 1, Attr: ws.Attr})
	t.Cleanup(pool.Close)
	return &reuseBox{box: b, pool: pool}
}

// run runs script with sh under spec in dir, with env added and stdin
// (nil: none), as a command of kind (the caller's part; the Spec's key
// is added unless it has none).
func (r *reuseBox) run(t *testing.T, spec sandbox.Spec, kind, dir string, env map[string]string, stdin []byte, script string) *codeexec.Result {
	t.Helper()
	wrapped, err := wrap(spec, []string{"/bin/sh", "-c", script})
	must(t, err)
	if key, ok := spec.ReuseKey(); ok {
		kind += "\x00" + key
	}
	req := sandbox.Request{Args: wrapped[2:], Env: spec.Env(nil, env), Dir: dir, Stdin: stdin != nil}
	res, err := codeexec.Run(context.Background(), codeexec.Command{Path: "/bin/sh", Pool: r.pool,
		Request: req.Encode(), Kind: kind, Stdin: stdin, Timeout: 2 * time.Minute})
	must(t, err)
	return res
}

// helperOf runs `echo $PPID` (the helper: a command forked in one stage
// is its child) and returns it.
func (r *reuseBox) helperOf(t *testing.T, spec sandbox.Spec, kind string) string {
	t.Helper()
	res := r.run(t, spec, kind, r.project, nil, nil, "echo $PPID")
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) == "" {
		t.Fatalf("echo $PPID: %+v", res)
	}
	return strings.TrimSpace(res.Stdout)
}

// withTmp returns spec with its private temporary directory moved to a
// new one, as the code service makes one per command.
func withTmp(t *testing.T, spec sandbox.Spec) (sandbox.Spec, string) {
	tmp := t.TempDir()
	must(t, os.Chmod(tmp, 0o777))
	s := spec
	s.ReadWrite = append([]string(nil), spec.ReadWrite...)
	for i, p := range s.ReadWrite {
		if p == spec.TmpDir {
			s.ReadWrite[i] = tmp
		}
	}
	s.TmpDir, s.Home = tmp, tmp
	return s, tmp
}

// TestHelperReused: a helper whose command left nothing behind runs the
// next command of the same kind (the same pid is its parent), and the
// second command sees nothing of the first's: not its environment,
// working directory, temporary directory or files there, stdin or
// output.
func TestHelperReused(t *testing.T) {
	r := newReuseBox(t)
	sub := filepath.Join(r.project, "sub")
	must(t, os.MkdirAll(sub, 0o777))
	must(t, os.Chmod(r.project, 0o777))
	spec1, tmp1 := withTmp(t, r.spec)
	first := r.run(t, spec1, "agent", sub, map[string]string{"SECRET": "first-secret"}, []byte("first-input"),
		`cat; echo; echo first-output; echo "$SECRET" > "$TMPDIR/left"; echo $PPID; export LATER=1; cd /`)
	lines := strings.Split(strings.TrimSpace(first.Stdout), "\n")
	if first.ExitCode != 0 || len(lines) != 3 || lines[0] != "first-input" {
		t.Fatalf("first command: %+v", first)
	}
	helper := lines[2]
	spec2, _ := withTmp(t, r.spec)
	second := r.run(t, spec2, "agent", r.project, nil, nil,
		`echo $PPID; pwd; env; readlink /proc/self/fd/0; cat; cat "`+tmp1+`/left" 2>&1; ls "`+tmp1+`" 2>&1; echo end`)
	out := second.Stdout + second.Stderr
	got := strings.Split(out, "\n")
	if got[0] != helper {
		t.Fatalf("the second command ran under helper %s, the first under %s: the helper was not reused\n%s", got[0], helper, out)
	}
	if real, _ := filepath.EvalSymlinks(r.project); got[1] != r.project && got[1] != real {
		t.Errorf("second command's directory %q, want %q", got[1], r.project)
	}
	for _, leak := range []string{"first-secret", "SECRET", "LATER", "first-input", "first-output", tmp1 + "\n"} {
		if strings.Contains(out, leak) {
			t.Errorf("%q of the first command reached the second:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "\n/dev/null\n") || !strings.Contains(out, "Permission denied") || !strings.HasSuffix(out, "end\n") {
		t.Errorf("the second command: want /dev/null as stdin and the first's temporary directory out of reach:\n%s", out)
	}
}

// TestHelperWithLeftoverNotReused: a command that leaves a process
// behind has it killed, as before, and its helper runs no other command.
func TestHelperWithLeftoverNotReused(t *testing.T) {
	r := newReuseBox(t)
	res := r.run(t, r.spec, "agent", r.project, nil, nil, "sleep "+bombSleep+" & echo $! $PPID")
	f := strings.Fields(res.Stdout)
	if res.ExitCode != 0 || len(f) != 2 {
		t.Fatalf("%+v", res)
	}
	left, _ := strconv.Atoi(f[0])
	if syscall.Kill(left, 0) == nil { // reaped before the helper reported
		t.Fatalf("the background sleep %d survived its command", left)
	}
	if next := r.helperOf(t, r.spec, "agent"); next == f[1] {
		t.Fatalf("helper %s ran the next command after its command left a process behind", next)
	}
}

// TestHelperChangedNotReused: a command that changed its helper's
// scheduling or limits, any of them (a process of the same user may,
// without tracing it) leaves a helper that runs no other command.
func TestHelperChangedNotReused(t *testing.T) {
	r := newReuseBox(t)
	// prlimit of a limit setLimits does not set (the message queue
	// bytes, the stack) is inherited by the next command all the same.
	for _, change := range []string{"renice -n 7 -p $PPID >/dev/null", "prlimit --pid $PPID --nofile=100:100",
		"prlimit --pid $PPID --msgqueue=4096:4096", "prlimit --pid $PPID --stack=65536:65536"} {
		res := r.run(t, r.spec, "agent", r.project, nil, nil, "PATH=/usr/bin:/bin; "+change+" && echo $PPID")
		if res.ExitCode != 0 {
			t.Logf("%s: %+v (refused: nothing to check)", change, res)
			continue
		}
		if next := r.helperOf(t, r.spec, "agent"); next == strings.TrimSpace(res.Stdout) {
			t.Errorf("after %q the helper ran the next command", change)
		}
	}
}

// TestHelperOtherKindNotReused: a command of another kind — other
// limits, another project (its .git corners), network, another caller —
// never runs in a helper another kind used; and a helper handed one
// anyway (the pool's Kind wrong) refuses it.
func TestHelperOtherKindNotReused(t *testing.T) {
	r := newReuseBox(t)
	other := t.TempDir()
	must(t, os.Chmod(other, 0o777))
	otherProject := r.spec
	otherProject.ReadWrite = append([]string{other}, r.spec.ReadWrite[1:]...)
	otherProject.Protected = []string{filepath.Join(other, ".git", "hooks"), filepath.Join(other, ".git", "config")}
	otherLimits := r.spec
	otherLimits.Limits.OpenFiles = 512
	network := r.spec
	network.Network = true
	cases := []struct {
		name, kind string
		spec       sandbox.Spec
	}{
		{"other limits", "agent", otherLimits},
		{"another project", "agent", otherProject},
		{"network", "agent", network},
		{"another caller", "other agent", r.spec},
	}
	for _, c := range cases {
		before := r.helperOf(t, r.spec, "agent")
		if again := r.helperOf(t, r.spec, "agent"); again != before {
			t.Fatalf("%s: the helper was not reused in the first place (%s, then %s)", c.name, before, again)
		}
		dir := r.project
		if c.name == "another project" {
			dir = other
		}
		res := r.run(t, c.spec, c.kind, dir, nil, nil, "echo $PPID")
		if got := strings.TrimSpace(res.Stdout); res.ExitCode != 0 || got == before {
			t.Errorf("%s: ran under helper %q (exit %d), the same kind's helper was %s", c.name, got, res.ExitCode, before)
		}
	}
	// A network command's helper refuses to be reused even when the
	// pool's Kind says it may.
	res := r.run(t, network, "same", r.project, nil, nil, "echo $PPID")
	if next := r.helperOf(t, network, "same"); next == strings.TrimSpace(res.Stdout) {
		t.Error("a helper whose command had network ran the next command")
	}
	// A helper handed a command of another kind under the same Kind
	// refuses it (sandbox.ReuseKey differs) rather than run it with the
	// first command's limits and mounts.
	first := r.helperOf(t, r.spec, "mixed")
	wrapped, err := wrap(otherLimits, []string{"/bin/sh", "-c", "echo $PPID"})
	must(t, err)
	key, _ := r.spec.ReuseKey()
	req := sandbox.Request{Args: wrapped[2:], Env: otherLimits.Env(nil, nil), Dir: r.project}
	bad, err := codeexec.Run(context.Background(), codeexec.Command{Path: "/bin/sh", Pool: r.pool,
		Request: req.Encode(), Kind: "mixed\x00" + key, Timeout: 2 * time.Minute})
	must(t, err)
	if strings.TrimSpace(bad.Stdout) == first || bad.ExitCode != exitConfine || !strings.Contains(bad.Stderr, "another kind") {
		t.Errorf("a command of other limits handed to helper %s: %+v", first, bad)
	}
}

// TestIdleHelperEndsOnSignal: a helper waiting for its next command
// exits on SIGTERM (it has no child to sweep then), and the next command
// runs in another helper.
func TestIdleHelperEndsOnSignal(t *testing.T) {
	r := newReuseBox(t)
	first := r.helperOf(t, r.spec, "agent")
	if again := r.helperOf(t, r.spec, "agent"); again != first {
		t.Fatalf("not reused in the first place: %s, then %s", first, again)
	}
	pid, _ := strconv.Atoi(first)
	must(t, syscall.Kill(pid, syscall.SIGTERM))
	gone := false
	for deadline := time.Now().Add(time.Minute); !gone && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + first + "/stat")
		gone = err != nil || strings.Contains(string(b), ") Z ")
	}
	if !gone {
		t.Fatalf("idle helper %s is still running after SIGTERM", first)
	}
	if next := r.helperOf(t, r.spec, "agent"); next == first {
		t.Fatalf("the next command ran in the signalled helper %s", first)
	}
}

// TestCommandIPCStaysWithItsHelper: a SysV shared memory segment a
// command makes (IPC objects outlive their maker and are not Landlock's)
// is neither in the service's IPC namespace nor seen by a command of
// another caller, and its helper runs no other command (the segment
// would hold its memory past the command's limits).
func TestCommandIPCStaysWithItsHelper(t *testing.T) {
	r := newReuseBox(t)
	if ipcCloneflag() == 0 {
		t.Skip("no IPC namespace for a helper here (user namespaces off?)")
	}
	// ipcs exits 0 whether it finds the segment or not: seen is what
	// it prints of one it found.
	const seen = `ipcs -m -i "$id" 2>/dev/null | grep -q "shmid=$id\$" && echo seen`
	res := r.run(t, r.spec, "agent", r.project, nil, nil, `PATH=/usr/bin:/bin; id=$(ipcmk -M 4096 | awk '{print $NF}'); `+
		seen+`; echo id $id; echo ppid $PPID`)
	var id, helper string
	for _, l := range strings.Split(res.Stdout, "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			switch f[0] {
			case "id":
				id = f[1]
			case "ppid":
				helper = f[1]
			}
		}
	}
	if res.ExitCode != 0 || id == "" || helper == "" || !strings.HasPrefix(res.Stdout, "seen\n") {
		t.Fatalf("ipcmk, then ipcs of its segment, in the sandbox: %+v", res)
	}
	other := r.run(t, r.spec, "other agent", r.project, map[string]string{"id": id}, nil, "PATH=/usr/bin:/bin; "+seen)
	if strings.Contains(other.Stdout, "seen") {
		t.Errorf("another caller's command sees segment %s", id)
	}
	shmid, _ := strconv.Atoi(id)
	var ds [256]byte // larger than struct shmid64_ds
	if _, _, e := syscall.Syscall(syscall.SYS_SHMCTL, uintptr(shmid), 2 /* IPC_STAT */, uintptr(unsafe.Pointer(&ds[0]))); e == 0 {
		syscall.Syscall(syscall.SYS_SHMCTL, uintptr(shmid), 0 /* IPC_RMID */, 0)
		t.Errorf("the command's shared memory segment %d is in the service's IPC namespace", shmid)
	}
	if next := r.helperOf(t, r.spec, "agent"); next == helper {
		t.Errorf("helper %s ran the next command with the last one's segment %s still there", helper, id)
	}
}

// TestCommandCannotReachItsHelper: what a command could try on the helper
// that will run the next command of its kind is refused — writing its
// /proc files (oom_score_adj, comm, timerslack_ns; /proc is read-only to
// it), signalling it (Landlock's signal scope, where the kernel has it),
// reaching the control socket (descriptor 3 is close-on-exec) — and the
// helper is still reused, unchanged.
func TestCommandCannotReachItsHelper(t *testing.T) {
	r := newReuseBox(t)
	helper := r.helperOf(t, r.spec, "agent")
	before, err := os.ReadFile("/proc/" + helper + "/oom_score_adj")
	must(t, err)
	script := `for f in oom_score_adj comm timerslack_ns; do (echo 1000 > /proc/$PPID/$f) 2>/dev/null && echo "wrote $f"; done
for f in /proc/$PPID/task/*/comm; do (echo x > $f) 2>/dev/null && echo "wrote $f"; done
[ -e /proc/$$/fd/3 ] && echo "fd 3 open"
echo $PPID`
	if landlockABI() >= 6 {
		script = `kill -0 $PPID 2>/dev/null && echo "signalled"; ` + script
	}
	res := r.run(t, r.spec, "agent", r.project, nil, nil, script)
	if res.ExitCode != 0 || strings.TrimSpace(res.Stdout) != helper {
		t.Errorf("the command reached its helper %s: %+v", helper, res)
	}
	after, err := os.ReadFile("/proc/" + helper + "/oom_score_adj")
	must(t, err)
	if string(after) != string(before) {
		t.Errorf("the helper's oom_score_adj went from %q to %q", before, after)
	}
	if next := r.helperOf(t, r.spec, "agent"); next != helper {
		t.Errorf("a command that was refused everything left a helper that was not reused (%s, then %s)", helper, next)
	}
}

// TestConfinedCodeServiceGetsIPCNamespaces: a process confined as the
// code service (its seccomp filter, which its helpers inherit) can still
// start a helper in an IPC namespace of its own.
func TestConfinedCodeServiceGetsIPCNamespaces(t *testing.T) {
	b := newBox(t)
	if ipcCloneflag() == 0 {
		t.Skip("no IPC namespace for a helper here, confined or not (user namespaces off?)")
	}
	out, err := exec.Command(b.bin, "codesvc-ipc").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "true" {
		t.Fatalf("a confined code service starts helpers without an IPC namespace of their own: %v\n%s", err, out)
	}
}
