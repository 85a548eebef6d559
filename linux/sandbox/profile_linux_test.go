//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/sandbox"
)

// profileProbe is confineProbe with a CPU profile running when it
// confines itself, as a service does under CARAPACE_CPUPROFILE: the
// profile's interval timer must not reach the re-executed image before
// it can take SIGPROF.
func profileProbe(args []string) int {
	if os.Getenv(confinedMarker) != "1" {
		f, err := os.Create(filepath.Join(args[0], "cpu.prof"))
		if err != nil {
			say("profile: %v", err)
			return 1
		}
		pprof.StartCPUProfile(f)
		for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		} // CPU time, so the timer runs
	}
	if err := confineSelf(sandbox.Profile{RestrictFS: true, ReadWrite: []string{args[0]}}); err != nil {
		say("confine failed: %v", err)
		return 1
	}
	// The new image starts slower than a profile tick (10 ms): give a
	// timer left running the time to fire.
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	say("confined")
	return 0
}

// TestConfineSelfWhileProfiling: a service that confines itself while a
// CPU profile runs is not killed by SIGPROF after its re-execution.
func TestConfineSelfWhileProfiling(t *testing.T) {
	requireSandbox(t)
	cmd := exec.Command(os.Args[0], "confine-profiled", t.TempDir())
	cmd.Env = append(os.Environ(), confinedMarker+"=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "confined") {
		t.Fatalf("a service confining itself under a CPU profile: %v\n%s", err, out)
	}
}
