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

// Collector pace for a service that starts no processes (the file
// service): ServiceGCPercent, with ServiceMemoryLimit as the backstop
// that makes the collector run sooner whenever the process's memory
// nears it.
//
// Such a service keeps little alive between calls (~4 MB), and every
// call's answer is garbage once written: at Go's default pace (GOGC=100,
// a collection each time the heap doubles) a forwarded 4 KiB file.read
// spent ~6 µs of its ~80 µs in the collector. At 400 the heap may grow to
// five times what is live (at least 16 MB, the runtime's floor of 4 MB
// scaled by the percentage) before a collection: a redacted file.read
// 98.8 → 86.7 µs of server CPU, 1.07× the calls a second; a forwarded
// echo 35.4 → 31.9 µs (docs/benchmarks.md). A service that starts
// processes keeps the default: its calls' cost is the process start, not
// the collector, and it was not measured.
const (
	ServiceGCPercent   = 400
	ServiceMemoryLimit = 256 << 20
)

// ServiceGC reports whether service name's process should use
// ServiceGCPercent and ServiceMemoryLimit (its caller leaves an explicit
// GOGC or GOMEMLIMIT in the environment alone).
func ServiceGC(name string) bool {
	s := service.Lookup(name)
	return s != nil && !s.StartsProcesses
}
