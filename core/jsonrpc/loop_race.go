//go:build race && linux

package jsonrpc

import "syscall"

// raceAcquire gives the race detector the happens-before edge a read
// through package syscall records (every syscall.Write in the process
// before every syscall.Read after): recvmmsg goes around it, and the
// detector would otherwise report writes a peer made before sending as
// racing with the reads of the goroutine that received them. A read of
// zero bytes records it without touching the socket. Race builds only.
func raceAcquire(fd int) { syscall.Read(fd, nil) }
