//go:build darwin && cgo && macsdk

package macapp

/*
#cgo LDFLAGS: -framework UserNotifications
#include <stdlib.h>
#include "macapp.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// ShowApproval posts a notification for request id through
// UNUserNotificationCenter, in a category whose actions are the given
// buttons; the owner's choice reaches ApprovalAnswer. The app must be a
// bundle with notification permission (asked for on the first call).
func ShowApproval(id, title, body string, actions []Action) error {
	cid, ctitle, cbody := C.CString(id), C.CString(title), C.CString(body)
	defer C.free(unsafe.Pointer(cid))
	defer C.free(unsafe.Pointer(ctitle))
	defer C.free(unsafe.Pointer(cbody))
	keys := make([]*C.char, len(actions))
	titles := make([]*C.char, len(actions))
	for i, a := range actions {
		keys[i], titles[i] = C.CString(a.Key), C.CString(a.Title)
		defer C.free(unsafe.Pointer(keys[i]))
		defer C.free(unsafe.Pointer(titles[i]))
	}
	var kp, tp **C.char
	if len(actions) > 0 {
		kp, tp = &keys[0], &titles[0]
	}
	var msg *C.char
	if rc := C.gmac_show_approval(cid, ctitle, cbody, kp, tp, C.int(len(actions)), &msg); rc != 0 {
		defer C.free(unsafe.Pointer(msg))
		return fmt.Errorf("macapp: show approval: %s", C.GoString(msg))
	}
	return nil
}

// WithdrawApproval removes request id's notification.
func WithdrawApproval(id string) {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	C.gmac_withdraw_approval(cid)
}

//export gmacApprovalAnswer
func gmacApprovalAnswer(id, key *C.char) {
	if f := ApprovalAnswer; f != nil {
		f(C.GoString(id), C.GoString(key))
	}
}
