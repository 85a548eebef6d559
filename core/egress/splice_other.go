//go:build !linux

package egress

import "net"

// spliceDown is Linux's (splice_linux.go); elsewhere copyConn uses the
// net package's ReadFrom.
func (p *Proxy) spliceDown(to, from *net.TCPConn) (int64, bool) { return 0, false }
