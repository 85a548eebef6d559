//go:build linux && !amd64 && !arm64

package sandbox

// No open-refusing filter here: Profile.NoFiles fails (noFilesFilter).
var openSyscalls []int

const (
	auditArch = 0
	x32Bit    = 0
)
