//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// confinedMarker is set in the environment of the image ConfineSelf
// re-executes. It only says which half of ConfineSelf to run: the second
// half checks that the Landlock domain is really in force, so setting the
// marker by hand gains nothing.
const confinedMarker = "CARAPACE_CONFINED"

// goRuntimeFiles are what a Go service reads outside its own folders.
var goRuntimeFiles = []string{
	"/etc/localtime", "/usr/share/zoneinfo", "/etc/hosts", "/etc/resolv.conf",
	"/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/proc/self",
	"/sys/kernel/mm/transparent_hugepage", "/dev/null", "/dev/urandom",
}

// confineSelf implements sandbox.ConfineSelf.
func confineSelf(p sandbox.Profile) error {
	if !p.RestrictFS {
		return confineSyscalls(p)
	}
	if os.Getenv(confinedMarker) == "" {
		return confineAndReexec(p) // returns only on error
	}
	os.Unsetenv(confinedMarker)
	// "/" is never in a profile: if it can be opened, no domain holds.
	if fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
		return errors.New("confine: re-executed without the Landlock domain in force")
	}
	return confineSyscalls(p)
}

// confineSyscalls sets no_new_privs and loads the service filter on every
// thread.
func confineSyscalls(p sandbox.Profile) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confine: set no_new_privs: %w", err)
	}
	if err := loadFilter(filterOptions{network: p.Network, exec: p.Exec, mountNS: p.Namespaces, unix: !p.NoFiles}); err != nil {
		return err
	}
	if p.NoFiles {
		return loadNoFilesFilter()
	}
	return nil
}

// confinedParent carries, across the re-exec, the parent pid and the
// parent-death signal the first image was started with.
const confinedParent = "CARAPACE_CONFINED_PARENT"

// parentDeathSig is the parent-death signal this image was started with.
// It is read in init, on the main thread, which is the only thread that
// has one: the kernel gives every new thread none, and the re-exec runs on
// a locked thread that may be any of them, so without this the confined
// image would outlive a killed dev stack.
var parentDeathSig = func() int {
	var sig int32
	unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0)
	return int(sig)
}()

func init() {
	v, ok := os.LookupEnv(confinedParent)
	if !ok {
		return
	}
	os.Unsetenv(confinedParent)
	ppid, sig, _ := strings.Cut(v, ":")
	n, err := strconv.Atoi(sig)
	if err != nil || n <= 0 {
		return
	}
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(n), 0, 0, 0)
	parentDeathSig = n
	if strconv.Itoa(os.Getppid()) != ppid {
		os.Exit(1) // the parent died during the re-exec: its signal was missed
	}
}

// confineAndReexec restricts this thread with p's Landlock rules and
// execve's the same binary from it, so that every thread of the new image
// inherits the domain.
func confineAndReexec(p sandbox.Profile) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("confine: %w", err)
	}
	runtime.LockOSThread() // never unlocked: on success this thread execs
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confine: set no_new_privs: %w", err)
	}
	if err := profileRuleset(p, exe, landlockABI()).restrictThread(); err != nil {
		return fmt.Errorf("confine: %w", err)
	}
	env := []string{confinedMarker + "=1"}
	if parentDeathSig > 0 {
		env = append(env, fmt.Sprintf("%s=%d:%d", confinedParent, os.Getppid(), parentDeathSig))
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, confinedMarker+"=") && !strings.HasPrefix(kv, confinedParent+"=") { // the first of duplicates wins
			env = append(env, kv)
		}
	}
	// A CPU profile's interval timer (setitimer) outlives execve, and the
	// new image, which has not set up its SIGPROF handler yet, would die
	// of it: stop profiling first (a no-op unless CARAPACE_CPUPROFILE).
	// The runtime's own switch, not runtime/pprof's StopCPUProfile: the
	// profile is lost with the image anyway, and linking runtime/pprof
	// (compress/gzip, text/tabwriter, …) put its package initialisers in
	// every start of the sandbox helper.
	runtime.SetCPUProfileRate(0)
	return fmt.Errorf("confine: re-execute %s: %w", exe, unix.Exec(exe, os.Args, env))
}

// profileRuleset turns a Profile into Landlock rules. The binary itself
// (and the system libraries, for a dynamically linked build) stay
// executable so the re-exec works; seccomp forbids execve afterwards when
// the profile does.
func profileRuleset(p sandbox.Profile, exe string, abi int) *ruleset {
	rs := &ruleset{abi: abi, noNet: !p.Network}
	add := func(paths []string, access uint64) {
		for _, path := range paths {
			rs.rules = append(rs.rules, rule{path: path, access: access})
		}
	}
	add(p.ReadWrite, llRead|llWrite)
	add(p.ReadOnly, llRead)
	add(goRuntimeFiles, llRead)
	add([]string{exe}, llRead|llExec)
	add([]string{"/lib", "/lib64", "/usr/lib", "/usr/lib64"}, llRead|llExec)
	return rs
}
