//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkStartTrue compares, per run of /bin/true: a plain fork/exec,
// sandbox-exec (with and without the mount namespace that protects .git),
// and bubblewrap with every namespace. It reports each as ns and as a
// ratio to the plain exec and to bwrap:
//
//	go test ./linux/sandbox -run '^$' -bench StartTrue -benchtime 200x
func BenchmarkStartTrue(b *testing.B) {
	// As the code service does (as root): one pids cgroup for the whole
	// service, which commands inherit at fork, instead of moving each one.
	if os.Geteuid() == 0 && ServiceCgroup(4096) {
		b.Log("running inside a service pids cgroup, as the code service does as root")
	}
	bx := newBenchBox(b)
	noGit := *bx
	noGit.spec.Protected = nil
	kinds := []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"plain", func() *exec.Cmd { return exec.Command("/bin/true") }},
		{"sandbox", func() *exec.Cmd { return bx.command("/bin/true") }},
		{"sandbox_nogit", func() *exec.Cmd { return noGit.command("/bin/true") }},
		{"bwrap", func() *exec.Cmd {
			return exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-all", "/bin/true")
		}},
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		b.Skip("bubblewrap is not installed (make deps)")
	}
	total := make([]time.Duration, len(kinds))
	for i := 0; i < b.N; i++ {
		for k, kind := range kinds { // interleaved, so drift hits all alike
			start := time.Now()
			if out, err := kind.cmd().CombinedOutput(); err != nil {
				b.Fatalf("%s: %v: %s", kind.name, err, out)
			}
			total[k] += time.Since(start)
		}
	}
	for k, kind := range kinds {
		b.ReportMetric(float64(total[k].Nanoseconds())/float64(b.N), kind.name+"_ns")
	}
	b.ReportMetric(float64(total[1])/float64(total[0]), "sandbox/plain")
	b.ReportMetric(float64(total[1])/float64(total[3]), "sandbox/bwrap")
	b.ReportMetric(float64(total[2])/float64(total[3]), "sandbox_nogit/bwrap")
	b.ReportMetric(float64(total[3])/float64(total[0]), "bwrap/plain")
}

func newBenchBox(b *testing.B) *box { return newBox(b) }
