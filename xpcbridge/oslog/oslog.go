// Package oslog writes to the macOS unified log (os_log) under the
// subsystem tools.gimme.carapace, so `log stream --predicate
// 'subsystem == "tools.gimme.carapace"'` and a SIEM's macOS agent see
// every audit record.
//
// It needs cgo on darwin. os_log's API is C macros: a small C function
// calls them with a constant format ("%{public}s"), and Go hands it the
// text. Elsewhere Open returns an error wrapping errors.ErrUnsupported.
// Compile-checked by `make darwin-cgo-check`; verified only on a Mac.
package oslog

// Subsystem is the unified log subsystem of every record.
const Subsystem = "tools.gimme.carapace"

// Level is an os_log type.
type Level uint8

// The os_log types Carapace uses (os_log_type_t): Default is kept on disk,
// Error too and is shown in red.
const (
	Default Level = 0x00
	Error   Level = 0x10
)
