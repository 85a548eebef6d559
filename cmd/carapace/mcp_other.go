//go:build !linux

package main

// notOwner is a no-op where the router cannot tell a confined peer from
// the owner (core/peer reports Confined on Linux only): docs/mcp.md says
// so.
func notOwner() error { return nil }
