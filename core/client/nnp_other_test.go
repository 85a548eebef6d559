//go:build unix && !linux

package client

import "errors"

// noNewPrivs: only Linux reports a confined peer (peer.Creds.Confined).
func noNewPrivs() error { return errors.ErrUnsupported }
