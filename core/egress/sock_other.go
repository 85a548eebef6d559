//go:build !linux

package egress

import (
	"errors"
	"os"
)

// The proxy process exists on Linux only (docs/network.md, macOS).

func seqpacketPair() (*os.File, *os.File, error) { return nil, nil, errors.ErrUnsupported }

func sendMessage(*os.File, []byte, ...*os.File) error { return errors.ErrUnsupported }

func recvMessage(*os.File, int) ([]byte, []*os.File, error) { return nil, nil, errors.ErrUnsupported }

func shutdownWrite(*os.File) {}
