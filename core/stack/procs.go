package stack

import "github.com/gimme-tools/carapace/core/service"

// ServiceProcs returns how many processors the Go scheduler of service
// name's process should use, given how many the runtime would use (def,
// its default GOMAXPROCS; an explicit GOMAXPROCS in the environment is
// left alone by the caller).
//
// A service that starts no processes (service.Spec.StartsProcesses) gets a
// quarter of def, but at least two where def has them. Its calls are
// small and the router does most of the work of an echo: on two
// processors, an echo forwarded by the router cost ~2 µs less server CPU
// with the services at one processor than at two (18.9 against 20.7 µs,
// make bench with -baseline, measured on the code service's echo),
// because a second idle processor in every service is woken, spins, and
// steals work at each burst of calls. But the file service's real calls
// are not echoes: a 100-entry file.list is ~300 µs of the service's own
// CPU (100 fstatat) and a redacted 4 KiB file.read ~30 µs, against the
// router's ~20 µs. On one processor those run one at a time on one CPU
// while the router leaves the other mostly idle: with 64 clients the
// service is the bottleneck, at most ~3,300 listings or ~25,000 reads a
// second of its own work on two CPUs that could do twice that.
//
// A service that starts processes (code, shell, app) keeps def: the
// runtime forks while holding its processor, so with only one every call
// waits for each process start (~0.5 ms per sandboxed command, measured).
func ServiceProcs(name string, def int) int {
	if s := service.Lookup(name); s == nil || s.StartsProcesses {
		return def
	}
	return min(def, max(2, def/4))
}
