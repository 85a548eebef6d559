//go:build linux && !amd64 && !arm64

package sandbox

import "golang.org/x/sys/unix"

// filterPrograms is empty on architectures the programs are not generated
// for: compileFilter reports it, and the sandbox is unavailable there.
var filterPrograms [16][]unix.SockFilter
