//go:build !linux

package jsonrpc

// edgeReads is false: recvmmsg is Linux's; elsewhere a LoopConn is read
// with an ordinary loop.
const edgeReads = false

func readTwice(fd int, p []byte) (int, int, error) { panic("jsonrpc: readTwice without recvmmsg") }
