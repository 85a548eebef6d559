//go:build !linux

package egress

// recvFlags: no MSG_CMSG_CLOEXEC here; commands with network exist only
// on Linux (the helper's network namespace), so nothing is received.
const recvFlags = 0
