//go:build race

package stream

import "sync/atomic"

// ioSync stands in, for the race detector, for the ordering a socket gives
// what is sent before a write and done after the read that receives it.
// syscall.Read and syscall.Write tell the detector (race.Acquire and
// race.ReleaseMerge on a variable of their own); rawRead and rawWrite do
// not go through them, so they tell it here, with an atomic counter.
var ioSync atomic.Uint64

func raceReleaseIO() { ioSync.Add(1) }
func raceAcquireIO() { ioSync.Load() }
