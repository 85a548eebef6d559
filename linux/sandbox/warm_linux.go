//go:build linux

package sandbox

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// warmArgv implements sandbox.Warm.
func warmArgv() ([]string, error) {
	exe, err := helperPath()
	if err != nil {
		return nil, err
	}
	return []string{exe, "sandbox-exec", "--warm"}, nil
}

// warmStart is "sandbox-exec --warm": it blocks until one sandbox.Request
// arrives on descriptor 3 (the pipe closing without one ends it with
// exitUsage), takes the request's working directory, environment and
// stdin, and returns the invocation to supervise.
func warmStart() (invocation, int) {
	ctl := os.NewFile(3, "sandbox-request")
	if ctl == nil {
		return invocation{}, fail("started --warm without a request pipe")
	}
	b, err := io.ReadAll(io.LimitReader(ctl, 8<<20))
	ctl.Close()
	if err != nil || len(b) == 0 {
		return invocation{}, exitUsage // the service went away or shut down
	}
	req, err := sandbox.DecodeRequest(b)
	if err != nil {
		return invocation{}, fail("%v", err)
	}
	inv, err := parseArgs(req.Args)
	if err != nil || inv.stage2 {
		return invocation{}, fail("bad request: %v", err)
	}
	if err := os.Chdir(req.Dir); err != nil {
		return invocation{}, fail("%v", err)
	}
	os.Clearenv()
	for _, kv := range req.Env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	if !req.Stdin {
		if err := stdinFromNull(); err != nil {
			return invocation{}, fail("%v", err)
		}
	}
	return inv, 0
}

// stdinFromNull puts /dev/null on descriptor 0.
func stdinFromNull() error {
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	defer unix.Close(null)
	return unix.Dup3(null, 0, 0)
}
