//go:build !race && linux

package jsonrpc

func raceAcquire(int) {}
