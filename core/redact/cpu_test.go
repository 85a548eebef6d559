package redact

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time the calling thread has used (Linux);
// ok is false where it cannot tell.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// reportCPU runs f n times on one locked thread and reports MiB per
// second of that thread's CPU time: a figure the other processes on a
// shared machine do not change, unlike ns/op.
func reportCPU(b *testing.B, bytes int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		f()
		n++
	}
	end, _ := threadCPU()
	if ok && end > start {
		b.ReportMetric(float64(bytes*n)/(1<<20)/(end-start).Seconds(), "MiB/cpu-s")
	}
}
