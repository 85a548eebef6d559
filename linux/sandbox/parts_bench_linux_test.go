//go:build linux

package sandbox

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// onThrowawayThread runs f on a locked OS thread that ends with it, so
// per-thread confinement (Landlock, the capability bounding set) does not
// stay in the test process.
func onThrowawayThread(b testing.TB, f func() error) {
	b.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAssembleFilter is the seccomp program's build, per command.
func BenchmarkAssembleFilter(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := assemble(filterOptions{exec: true}, "amd64"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestrictThread is building and applying a command's Landlock
// ruleset (one open, fstat, add_rule, close per path).
func BenchmarkRestrictThread(b *testing.B) {
	requireSandbox(b)
	spec := sandbox.ForProject(b.TempDir(), b.TempDir()).WithDefaults()
	abi := landlockABI()
	for i := 0; i < b.N; i++ {
		onThrowawayThread(b, func() error { return commandRuleset(spec, abi).restrictThread() })
	}
}

// BenchmarkRestrictPrepared is BenchmarkRestrictThread through a ruleset
// prepared with the shared rules, as a warm helper does: the preparation
// is not timed.
func BenchmarkRestrictPrepared(b *testing.B) {
	requireSandbox(b)
	spec := sandbox.ForProject(b.TempDir(), b.TempDir()).WithDefaults()
	abi := landlockABI()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p, err := prepareRuleset(sharedRules(false), abi, true)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		onThrowawayThread(b, func() error {
			ok, err := p.restrictThread(commandRuleset(spec, abi))
			if !ok {
				return errors.New("the prepared ruleset was not used")
			}
			return err
		})
	}
}

// BenchmarkThread is the cost of a throwaway thread alone, to subtract.
func BenchmarkThread(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onThrowawayThread(b, func() error { return nil })
	}
}

// BenchmarkDropCapabilities is the capability drop, per command.
func BenchmarkDropCapabilities(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onThrowawayThread(b, dropCapabilities)
	}
}

// BenchmarkPrivateTerminals is mounting a private devpts on /dev/pts, as
// a warm helper does once before its request, in a mount namespace of a
// throwaway thread (root only). The unmount is not timed.
func BenchmarkPrivateTerminals(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to make a mount namespace for one thread")
	}
	onThrowawayThread(b, func() error {
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return err
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			return err
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := mountPrivateTerminals(); err != nil {
				return err
			}
			b.StopTimer()
			if err := unix.Unmount("/dev/pts", 0); err != nil {
				return err
			}
			b.StartTimer()
		}
		return nil
	})
}
