//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// Exit codes of sandbox-exec itself, as a shell would use them.
const (
	exitUsage    = 2   // bad arguments
	exitConfine  = 126 // the sandbox could not be set up; nothing ran
	exitNotFound = 127 // the command does not exist
)

// invocation is a parsed sandbox-exec command line:
//
//	sandbox-exec [--stage2] --spec S -- CMD ARGS…
type invocation struct {
	stage2 bool
	spec   sandbox.Spec
	argv   []string
}

func parseArgs(args []string) (invocation, error) {
	var inv invocation
	haveSpec := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--stage2":
			inv.stage2 = true
		case "--spec":
			if i+1 >= len(args) {
				return inv, errors.New("--spec needs a value")
			}
			s, err := sandbox.Decode(args[i+1])
			if err != nil {
				return inv, err
			}
			inv.spec, haveSpec = s.WithDefaults(), true
			i++
		case "--":
			inv.argv = args[i+1:]
			i = len(args)
		default:
			return inv, fmt.Errorf("unknown argument %q", a)
		}
	}
	switch {
	case !haveSpec:
		return inv, errors.New("missing --spec")
	case len(inv.argv) == 0:
		return inv, errors.New("missing the command after --")
	}
	return inv, nil
}

// ExecMain runs "carapace sandbox-exec [--spec S] -- CMD ARGS…"; args are
// the words after "sandbox-exec". With the single argument "--warm" it
// first waits for those words, and the command's environment, directory
// and stdin, on descriptor 3 (see core/sandbox.Warm). It returns the exit code to exit with:
// the command's own, 128+n when a signal n ended it (or SIGTERM ended the
// helper), 126 when the sandbox could not be set up, 127 when the command
// does not exist, 2 on a usage error.
//
// The helper makes itself a child subreaper, starts a second stage of
// itself that confines its one thread and execve's the command, forwards
// SIGINT to the command, and on SIGTERM or SIGHUP, or when the command
// exits, kills every process still left under it, even those that made
// their own session, before it returns.
func ExecMain(args []string) int {
	// The helper allocates next to nothing; a collection would only cost
	// start-up time (on a small VM, waking the GC workers took ~15 ms).
	debug.SetGCPercent(-1)
	if len(args) == 1 && args[0] == "--warm" {
		return warmMain()
	}
	inv, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "carapace sandbox-exec: %v\nusage: carapace sandbox-exec --spec SPEC -- COMMAND [ARGS…]\n", err)
		return exitUsage
	}
	if inv.stage2 {
		err := confineAndExec(inv.spec, inv.argv)
		fmt.Fprintf(os.Stderr, "carapace sandbox-exec: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return exitConfine
	}
	return supervise(inv)
}

// confineAndExec is the second stage: it waits for the supervisor's go
// (which comes once the process is in its cgroup), then applies, in order,
// the read-only mounts, rlimits, no_new_privs, the capability drop,
// Landlock and seccomp, and execve's the command. It returns only on error.
func confineAndExec(spec sandbox.Spec, argv []string) error {
	runtime.LockOSThread() // Landlock and no_new_privs bind this thread, which execs
	// The supervisor's parent-death signal (startStage2) was set on this
	// process's first thread. A new thread starts without one, and when
	// a thread other than the first execs, it takes the process over
	// with its own: the command would outlive a SIGKILLed helper. Until
	// the exec the first thread's still holds.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set the parent-death signal: %w", err)
	}
	if err := waitForGo(); err != nil {
		return err
	}
	path, err := lookPath(argv[0], os.Getenv("PATH"))
	if err != nil {
		return err
	}
	if err := protect(existingPaths(spec.Protected), existingPaths(spec.Masked)); err != nil {
		return fmt.Errorf("protect read-only paths: %w", err)
	}
	terminals := false
	if own, _ := ownMountNamespace(); own {
		terminals = mountPrivateTerminals() == nil
	}
	spec = withTerminals(spec, terminals)
	if err := setLimits(spec.Limits); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := dropCapabilities(); err != nil {
		return err
	}
	rs := commandRuleset(spec, landlockABI())
	if err := rs.restrictThread(); err != nil {
		return err
	}
	if err := loadFilter(commandFilter(spec.Network)); err != nil {
		return err
	}
	return unix.Exec(path, argv, scrubEnv(os.Environ()))
}

// waitForGo reads the supervisor's one-byte go-ahead from descriptor 3.
func waitForGo() error {
	f := os.NewFile(3, "sandbox-go")
	if f == nil {
		return errors.New("started without the supervisor's pipe")
	}
	defer f.Close()
	var b [1]byte
	if n, err := f.Read(b[:]); n != 1 {
		return fmt.Errorf("supervisor gave no go-ahead: %v", err)
	}
	return nil
}

// lookPath resolves name like a shell does, with the command's own PATH.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// scrubEnv drops the variables core/sandbox.Denied refuses, whoever put
// them in the helper's environment: a second line behind the runner's
// CleanEnv.
func scrubEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !sandbox.Denied(k) {
			out = append(out, kv)
		}
	}
	return out
}

// commandRuleset turns a Spec into Landlock rules.
func commandRuleset(spec sandbox.Spec, abi int) *ruleset {
	rs := &ruleset{abi: abi, noNet: !spec.Network}
	add := func(paths []string, access uint64) {
		for _, p := range paths {
			rs.rules = append(rs.rules, rule{path: p, access: access})
		}
	}
	add(spec.ReadExec, llRead|llExec)
	add(spec.ReadOnly, llRead)
	add(spec.Protected, llRead)
	add(spec.ReadWrite, llRead|llExec|llWrite|llDev)
	return rs
}
