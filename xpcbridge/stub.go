//go:build !darwin || !cgo

package xpcbridge

import (
	"errors"
	"fmt"
	"net"
	"runtime"
)

func unsupported(op, machService string) error {
	return fmt.Errorf("xpcbridge: %s %s: XPC needs darwin and cgo; this build is %s without it (hint: on macOS build with CGO_ENABLED=1; elsewhere use the Unix-socket transport): %w",
		op, machService, runtime.GOOS, errors.ErrUnsupported)
}

// Listen returns an error wrapping errors.ErrUnsupported: XPC needs darwin
// and cgo.
func Listen(machService, requirement string) (net.Listener, error) {
	if err := checkArgs("listen", machService, requirement); err != nil {
		return nil, err
	}
	return nil, unsupported("listen", machService)
}

// Dial returns an error wrapping errors.ErrUnsupported: XPC needs darwin
// and cgo.
func Dial(machService, requirement string) (net.Conn, error) {
	if err := checkArgs("dial", machService, requirement); err != nil {
		return nil, err
	}
	return nil, unsupported("dial", machService)
}
