// Package sandbox describes what a sandboxed command or service may touch,
// independently of the operating system that enforces it.
//
// A Spec is built by the code service from its configuration and handed to
// Wrap, which turns a command line into one that runs the command confined
// (on Linux: "carapace sandbox-exec --spec S -- CMD ARGS…", see
// linux/sandbox). A Profile is what a long-running service asks ConfineSelf
// for at start. Both hooks are set by a platform package in init; where none
// is linked in they report errors.ErrUnsupported, and callers must refuse to
// run commands rather than run them unconfined.
package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Spec lists what a sandboxed command may reach. Paths are absolute and
// clean; a path that does not exist is skipped by the enforcer, not an
// error, so one Spec serves machines with different layouts.
type Spec struct {
	// ReadExec are directories whose files may be read and executed:
	// the system's toolchain (DefaultReadExec).
	ReadExec []string `json:"read_exec,omitempty"`
	// ReadOnly are files or directories that may be read but not executed
	// or changed (DefaultReadOnly: the parts of /etc a program needs).
	ReadOnly []string `json:"read_only,omitempty"`
	// ReadWrite are directories that may be read, written, and executed
	// from: the project root and the private temporary directory.
	ReadWrite []string `json:"read_write,omitempty"`
	// Protected are paths inside ReadWrite that stay read-only: the
	// files the owner's tools run (core/autorun.Find lists them for every
	// repository under the project, with shell, editor and agent files),
	// which a command that could write them would turn into code run as
	// the owner by the next `git status` or new shell.
	Protected []string `json:"protected,omitempty"`
	// Masked are paths inside ReadWrite the command may not read at all:
	// the project's secrets (core/denyread's globs, found by the walk
	// before each command). Each is covered in the command's mount
	// namespace, a file by an empty read-only one (/dev/null), a
	// directory by an empty read-only tmpfs; a masked name cannot be
	// renamed, removed or linked either (it is a mount point).
	Masked []string `json:"masked,omitempty"`
	// Home and TmpDir become HOME and TMPDIR (Env). Both should lie in
	// ReadWrite; Home defaults to TmpDir.
	Home   string `json:"home,omitempty"`
	TmpDir string `json:"tmpdir,omitempty"`
	// Network allows sockets of every family. When false only AF_UNIX
	// sockets can be made and TCP bind/connect is refused, loopback too.
	Network bool `json:"network,omitempty"`
	// Egress says the command's network is Carapace's proxy alone: the
	// helper runs it only in a network namespace of its own holding
	// nothing but loopback, with a forwarder on 127.0.0.1 that hands
	// each connection to the proxy, and the proxy variables set
	// (docs/network.md). It needs Network (the command makes TCP
	// sockets, in that namespace).
	Egress bool `json:"egress,omitempty"`
	// Limits are the resource limits; zero fields take DefaultLimits.
	Limits Limits `json:"limits"`
}

// Limits are resource limits applied to the command and everything it
// starts. Zero means "use the default", not "unlimited"; -1 is unlimited.
type Limits struct {
	// Procs is how many tasks (processes and threads: both the kernel's
	// RLIMIT_NPROC and the pids cgroup count threads) the command may
	// have at once, on top of those its user already runs (RLIMIT_NPROC
	// counts per user), and the pids.max of its cgroup when one is made.
	Procs int64 `json:"procs,omitempty"`
	// OpenFiles is RLIMIT_NOFILE.
	OpenFiles int64 `json:"open_files,omitempty"`
	// FileSize is RLIMIT_FSIZE in bytes: the largest file it may write.
	FileSize int64 `json:"file_size,omitempty"`
	// CPUSeconds is RLIMIT_CPU, per process.
	CPUSeconds int64 `json:"cpu_seconds,omitempty"`
	// AddressSpace is RLIMIT_AS in bytes, per process.
	AddressSpace int64 `json:"address_space,omitempty"`
}

// DefaultLimits are the limits a zero Limits field takes. The address-space
// cap is generous because V8, the JVM and Go reserve far more virtual memory
// than they use; it stops a runaway allocation, not a large build.
var DefaultLimits = Limits{
	Procs:        1024,
	OpenFiles:    1024,
	FileSize:     1 << 30, // 1 GiB
	CPUSeconds:   600,
	AddressSpace: 16 << 30, // 16 GiB
}

// DefaultReadExec are the system directories a toolchain needs.
var DefaultReadExec = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/opt", "/nix/store", "/snap",
}

// DefaultReadOnly are the files a program commonly reads outside the
// toolchain: name service and locale data from /etc, and pseudo-files.
// /etc as a whole is not listed: it holds secrets on some machines
// (/etc/shadow is guarded by its mode, but not every secret is).
var DefaultReadOnly = []string{
	"/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/pki",
	"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf",
	"/etc/nsswitch.conf", "/etc/host.conf", "/etc/localtime", "/etc/timezone",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/locale.alias", "/etc/mime.types", "/etc/os-release",
	// pip names the distribution in its User-Agent (distro): without
	// these it stops with a PermissionError on Debian and Ubuntu.
	"/etc/debian_version", "/etc/lsb-release",
	"/etc/gitconfig", "/etc/profile", "/etc/bash.bashrc", "/etc/inputrc",
	"/etc/environment", "/etc/login.defs", "/etc/protocols", "/etc/services",
	"/proc", "/sys/devices/system/cpu", "/sys/fs/cgroup",
	"/sys/kernel/mm/transparent_hugepage",
}

// DefaultDevices are device files a command may read and write. /dev/shm
// is left out on purpose: it is shared by every process of the user, so a
// command could read another program's shared memory or leave files behind
// for one; POSIX semaphores (sem_open) therefore fail in the sandbox.
// /dev/tty is the command's controlling terminal, which it has only when
// it made one itself; TerminalDevices are granted with conditions.
var DefaultDevices = append([]string{
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	"/dev/tty",
}, TerminalDevices...)

// TerminalDevices are where a command makes pseudo-terminals of its own
// (script, expect, a test of a terminal program). They hold every
// session's terminals, so the enforcer grants them only where it can
// give the command a private instance (on Linux, a devpts of its own in
// the command's mount namespace), and leaves them out of the Spec
// otherwise: a command must never reach another session's terminal.
var TerminalDevices = []string{"/dev/ptmx", "/dev/pts"}

// ForProject returns the Spec for running commands in project with the
// private temporary directory tmp: the defaults, read-write on both,
// project/.git/hooks and project/.git/config protected, no network.
func ForProject(project, tmp string) Spec {
	return Spec{
		ReadExec:  append([]string(nil), DefaultReadExec...),
		ReadOnly:  append([]string(nil), DefaultReadOnly...),
		ReadWrite: append([]string{project, tmp}, DefaultDevices...),
		Protected: []string{
			filepath.Join(project, ".git", "hooks"),
			filepath.Join(project, ".git", "config"),
		},
		Home:   tmp,
		TmpDir: tmp,
	}
}

// WithDefaults returns s with every zero limit set from DefaultLimits and
// Home defaulting to TmpDir.
func (s Spec) WithDefaults() Spec {
	l, d := &s.Limits, DefaultLimits
	for _, p := range []struct{ v, def *int64 }{
		{&l.Procs, &d.Procs}, {&l.OpenFiles, &d.OpenFiles},
		{&l.FileSize, &d.FileSize}, {&l.CPUSeconds, &d.CPUSeconds},
		{&l.AddressSpace, &d.AddressSpace},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	if s.Home == "" {
		s.Home = s.TmpDir
	}
	return s
}

// ReuseKey names what a helper that ran a command under s keeps for the
// next command it runs (linux/sandbox, core/codeexec's Pool): the
// read-only and masked mounts it made in its mount namespace (Protected,
// Masked; the service's filter refuses umount2, so they cannot be taken
// back) and its process-wide resource limits (Limits, after defaults:
// setrlimit binds the process, and a limit is never raised again).
// Everything else in a Spec is applied to one thread that exits with the
// command. ok is false for a Spec with network: a helper whose command
// could use its network namespace is never used again.
func (s Spec) ReuseKey() (key string, ok bool) {
	if s.Network || s.Egress {
		return "", false
	}
	b, _ := json.Marshal(struct {
		Protected, Masked []string
		Limits            Limits
	}{s.Protected, s.Masked, s.WithDefaults().Limits}) // strings and ints: cannot fail
	return string(b), true
}

// Validate reports whether every path in s is absolute and clean, and
// whether s grants something it must never grant: write access to "/".
func (s Spec) Validate() error {
	lists := map[string][]string{"read_exec": s.ReadExec, "read_only": s.ReadOnly,
		"read_write": s.ReadWrite, "protected": s.Protected, "masked": s.Masked,
		"home": nonEmpty(s.Home), "tmpdir": nonEmpty(s.TmpDir)}
	for name, paths := range lists {
		for _, p := range paths {
			if err := checkPath(p); err != nil {
				return fmt.Errorf("sandbox spec %s: %w", name, err)
			}
		}
	}
	if s.Egress && !s.Network {
		return errors.New("sandbox spec: egress needs network")
	}
	for _, p := range s.ReadWrite {
		if p == "/" {
			return errors.New("sandbox spec read_write: \"/\" would give the command the whole machine")
		}
	}
	return nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q contains a NUL byte", p)
	case !filepath.IsAbs(p):
		return fmt.Errorf("path %q is not absolute", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (want %q)", p, filepath.Clean(p))
	}
	return nil
}

// Encode returns s as one command-line-safe word: base64url of its JSON.
func (s Spec) Encode() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic("sandbox: marshal spec: " + err.Error()) // plain data: cannot fail
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxEncoded bounds what Decode accepts; a real Spec is a few KiB.
const maxEncoded = 1 << 20

// Decode parses a word made by Encode, rejects unknown fields, and
// validates the result.
func Decode(word string) (Spec, error) {
	var s Spec
	if len(word) > maxEncoded {
		return s, fmt.Errorf("sandbox spec: %d bytes encoded, more than %d", len(word), maxEncoded)
	}
	b, err := base64.RawURLEncoding.DecodeString(word)
	if err != nil {
		return s, fmt.Errorf("sandbox spec: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("sandbox spec: %w", err)
	}
	if dec.More() {
		return Spec{}, errors.New("sandbox spec: trailing data")
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}
