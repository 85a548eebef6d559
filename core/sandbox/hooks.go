package sandbox

import "errors"

// Wrap returns the command line that runs argv confined by spec. It is set
// by the platform package in init; a nil Wrap means there is no sandbox on
// this platform (use Command, which reports that as an error).
//
// On Linux the result is [helper, "sandbox-exec", "--spec", spec.Encode(),
// "--", argv...]: a helper that applies rlimits, no-new-privileges,
// Landlock and seccomp, runs argv as its child, and kills every descendant
// when argv exits or the helper receives SIGTERM. The helper is the slim
// carapace-sandbox binary when it lies next to the running executable
// (it starts several times faster), else the running executable itself.
var Wrap func(spec Spec, argv []string) (newArgv []string, err error)

// available reports the sandbox's strength; set by the platform package.
var available func() (abi int, ok bool)

// SetAvailable installs the platform's Available. Only platform packages
// call it, from init.
func SetAvailable(f func() (abi int, ok bool)) { available = f }

// Available reports whether commands can be sandboxed here and, on Linux,
// the Landlock ABI version the kernel offers (for code.info). ok is false
// when no platform sandbox is linked in or the kernel lacks what it needs
// (Landlock and seccomp); the code service then refuses to run commands
// unless the owner's configuration says "sandbox: off".
func Available() (abi int, ok bool) {
	if available == nil || Wrap == nil {
		return 0, false
	}
	return available()
}

// Command is Wrap with the nil case turned into errors.ErrUnsupported.
func Command(spec Spec, argv []string) ([]string, error) {
	if Wrap == nil {
		return nil, errors.ErrUnsupported
	}
	if len(argv) == 0 {
		return nil, errors.New("sandbox: empty command")
	}
	return Wrap(spec, argv)
}

// Profile is what a long-running service confines itself to at start.
type Profile struct {
	// RestrictFS turns on the filesystem rules: the service may then open
	// only ReadWrite and ReadOnly (plus the few system files the Go runtime
	// reads). Without it the filesystem is left as the OS permissions have
	// it (the code service, which must start sandbox-exec children).
	RestrictFS bool
	ReadWrite  []string
	ReadOnly   []string
	// Exec allows execve. The file service runs without it.
	Exec bool
	// Network allows sockets other than AF_UNIX.
	Network bool
	// Namespaces allows a private mount namespace (and, for an ordinary
	// user, a user namespace) and mount(2) in it: what the sandbox
	// helper's children inherit and need to mount .git/hooks and
	// .git/config read-only. The code service needs it; without it every
	// command in a project with .git fails with exit 126. The command's
	// own filter refuses both again.
	Namespaces bool
	// NoFiles refuses every call that opens a file (open, openat,
	// openat2, creat), whatever Landlock allows, and socket(AF_UNIX):
	// the egress proxy's process, which needs only the descriptors it
	// is handed and the network.
	NoFiles bool
}

// ConfineSelf confines the calling process for the rest of its life: no
// new privileges, a seccomp filter refusing process tracing, mounts,
// namespaces, kernel modules and the like (and execve unless p.Exec), and
// with p.RestrictFS Landlock rules limiting it to p's paths. Set by the
// platform package; nil means unsupported.
//
// On Linux, with RestrictFS, ConfineSelf re-executes the running binary
// with the same arguments, environment and open descriptors (so the
// Landlock domain covers every thread of the new image) and returns nil
// only in the re-executed process, after checking the confinement holds.
// Call it first thing, before starting goroutines that matter.
var ConfineSelf func(p Profile) error

// ServiceCgroup puts the calling service in a pids cgroup of its own,
// bounded at max, which every command it starts is born in; it reports
// whether it could (root only). Set by the platform package; nil where
// there is none.
var ServiceCgroup func(max int64) bool
