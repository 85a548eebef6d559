//go:build cgo

package xpcbridge

const cgoState = "on"
