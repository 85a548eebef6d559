package stack

import "github.com/gimme-tools/carapace/core/service"

// ServiceProcs returns how many processors the Go scheduler of service
// name's process should use, given how many the runtime would use (def,
// its default GOMAXPROCS; an explicit GOMAXPROCS in the environment is
// left alone by the caller).
//
// A service that starts no processes (service.Spec.StartsProcesses) gets a quarter of def, at least one.
// Its calls are small and the router does most of the work of each: on two
// processors, an echo forwarded by the router cost ~2 µs less server CPU
// with the services at one processor than at two (18.9 against 20.7 µs,
// make bench with -baseline, measured on the code service's echo),
// because a second idle processor in every service is woken, spins, and
// steals work at each burst of calls. A service that starts processes
// (code, shell, app) keeps def: the runtime forks while holding its
// processor, so with only one every call waits for each process start
// (~0.5 ms per sandboxed command, measured).
func ServiceProcs(name string, def int) int {
	if s := service.Lookup(name); s == nil || s.StartsProcesses {
		return def
	}
	return max(1, def/4)
}
