//go:build !linux

package supervisor

import "syscall"

// childAttr: darwin has no parent-death signal; children notice the
// router's exit when their listening socket's directory is removed and on
// SIGTERM from Stop.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
