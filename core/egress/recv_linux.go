package egress

import "golang.org/x/sys/unix"

// recvFlags marks received descriptors close-on-exec as they arrive.
const recvFlags = unix.MSG_CMSG_CLOEXEC
