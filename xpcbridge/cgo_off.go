//go:build !cgo

package xpcbridge

const cgoState = "off"
