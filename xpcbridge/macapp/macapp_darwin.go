//go:build darwin && cgo && macsdk

package macapp

/*
#cgo CFLAGS: -fobjc-arc -Wall -Werror
#cgo LDFLAGS: -framework Foundation -framework AppKit -framework ServiceManagement -framework ApplicationServices
#include <stdlib.h>
#include "macapp.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// call runs f with s as a C string and turns a non-zero result and its
// message into an error.
func call(op, s string, f func(*C.char, **C.char) C.int) error {
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	var msg *C.char
	if rc := f(cs, &msg); rc != 0 {
		defer C.free(unsafe.Pointer(msg))
		return fmt.Errorf("macapp: %s %s: %s (code %d)", op, s, C.GoString(msg), int(rc))
	}
	return nil
}

// Register registers the job whose plist is plistName (for example
// "com.gimme.local.file.plist") with SMAppService. The first time, macOS
// asks the user to approve it; Status then reports RequiresApproval until
// they do.
func Register(k Kind, plistName string) error {
	return call("register", plistName, func(s *C.char, m **C.char) C.int { return C.gmac_register(C.int(k), s, m) })
}

// Unregister unregisters the job and stops it.
func Unregister(k Kind, plistName string) error {
	return call("unregister", plistName, func(s *C.char, m **C.char) C.int { return C.gmac_unregister(C.int(k), s, m) })
}

// JobStatus returns the job's SMAppService status.
func JobStatus(k Kind, plistName string) (Status, error) {
	cs := C.CString(plistName)
	defer C.free(unsafe.Pointer(cs))
	return Status(C.gmac_status(C.int(k), cs)), nil
}

// OpenLoginItems opens System Settings at Login Items, where the user
// approves Carapace's background jobs.
func OpenLoginItems() error {
	C.gmac_open_login_items()
	return nil
}

// AccessibilityTrusted reports whether this process may use the
// Accessibility API. With prompt, macOS also shows its dialog pointing the
// user to Settings; the answer does not change until they act, so the
// caller asks again later.
func AccessibilityTrusted(prompt bool) (bool, error) {
	p := C.int(0)
	if prompt {
		p = 1
	}
	return C.gmac_ax_trusted(p) != 0, nil
}

// OpenApp launches the app with bundleID (or brings it forward if it runs).
func OpenApp(bundleID string) error {
	return call("open", bundleID, func(s *C.char, m **C.char) C.int { return C.gmac_open_app(s, m) })
}

// ActivateApp brings the running app with bundleID to the front.
func ActivateApp(bundleID string) error {
	return call("activate", bundleID, func(s *C.char, m **C.char) C.int { return C.gmac_activate_app(s, m) })
}

// QuitApp asks the running app with bundleID to quit, as Cmd-Q would; the
// app may ask the user to save first.
func QuitApp(bundleID string) error {
	return call("quit", bundleID, func(s *C.char, m **C.char) C.int { return C.gmac_quit_app(s, m) })
}
