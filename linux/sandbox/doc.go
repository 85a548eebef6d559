// Package sandbox is Carapace's Linux sandbox: Landlock, seccomp,
// no-new-privileges, rlimits and a child-subreaper supervisor, in pure Go
// over golang.org/x/sys/unix; its seccomp programs are assembled with
// elastic/go-seccomp-bpf ahead of time (seccomp_policy_linux_test.go).
//
// Importing it sets core/sandbox's hooks (Wrap, Available, ConfineSelf).
// ExecMain is the body of "carapace sandbox-exec"; see docs/sandbox.md for
// what a sandboxed command may do and why.
//
// Landlock is applied by hand rather than with go-landlock: go-landlock
// v0.11.0 restricts every thread through libcap's psx package (not in our
// go.mod, and with cgo it wraps pthread_create at link time for the whole
// binary). Carapace never needs to restrict a running multi-threaded
// process in place: sandbox-exec restricts one locked thread and then
// execve's from it, and ConfineSelf does the same and re-executes itself,
// so the new image starts with one thread already inside the domain.
package sandbox
