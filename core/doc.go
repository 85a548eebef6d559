// Package core holds nothing itself: its subpackages are Carapace's
// platform-neutral heart (protocol, router, services, config, client).
// Nothing under core/ uses cgo or imports xpcbridge/ or linux/; deps_test.go
// enforces that.
package core
