//go:build linux

package sandbox

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// BenchmarkHelperIPCNamespace: what a helper's IPC namespace of its own
// costs, per command run in a fresh helper (each command of a new kind,
// so none is reused), with and without CLONE_NEWIPC, interleaved; wall
// time and the CPU time of the reaped helpers and commands:
//
//	go test ./linux/sandbox -run '^$' -bench HelperIPCNamespace -benchtime 100x
func BenchmarkHelperIPCNamespace(b *testing.B) {
	bx := newBox(b)
	if ipcCloneflag() == 0 {
		b.Skip("no IPC namespace for a helper here")
	}
	ws, err := warmHelper()
	if err != nil {
		b.Fatal(err)
	}
	without := func() *syscall.SysProcAttr {
		sys := ws.Attr()
		sys.Cloneflags &^= unix.CLONE_NEWIPC
		return sys
	}
	argv := []string{bx.bin, "sandbox-exec", "--warm"}
	pools := []*codeexec.Pool{
		codeexec.NewPool(argv, codeexec.PoolOptions{Size: 1, Attr: ws.Attr}),
		codeexec.NewPool(argv, codeexec.PoolOptions{Size: 1, Attr: without}),
	}
	defer pools[0].Close()
	defer pools[1].Close()
	wrapped, err := wrap(bx.spec, []string{"/bin/true"})
	if err != nil {
		b.Fatal(err)
	}
	req := sandbox.Request{Args: wrapped[2:], Env: bx.spec.Env(nil, nil), Dir: bx.project}.Encode()
	key, _ := bx.spec.ReuseKey()
	var wall, cpu [2]time.Duration
	for i := 0; i < b.N; i++ {
		for k, p := range pools {
			var before, after unix.Rusage
			unix.Getrusage(unix.RUSAGE_CHILDREN, &before)
			start := time.Now()
			res, err := codeexec.Run(context.Background(), codeexec.Command{Path: "/bin/true", Pool: p, Request: req,
				Kind: strconv.Itoa(i) + "\x00" + key, Timeout: time.Minute})
			if err != nil || res.ExitCode != 0 {
				b.Fatalf("%v %+v", err, res)
			}
			wall[k] += time.Since(start)
			unix.Getrusage(unix.RUSAGE_CHILDREN, &after)
			cpu[k] += time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(wall[0].Nanoseconds())/n, "ipcns_ns")
	b.ReportMetric(float64(wall[1].Nanoseconds())/n, "noipcns_ns")
	b.ReportMetric(float64(cpu[0].Nanoseconds())/n, "ipcns_cpu_ns")
	b.ReportMetric(float64(cpu[1].Nanoseconds())/n, "noipcns_cpu_ns")
}
