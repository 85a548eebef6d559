//go:build !linux

package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gimme-tools/carapace/core/service/shell"
)

func sandboxExec([]string) int {
	fmt.Fprintln(os.Stderr, "carapace: sandbox-exec: no command sandbox on this platform\nhint: services.code.sandbox: off runs commands unconfined")
	return 126
}

// desktopNotifier is the platform's notification surface for approvals:
// on macOS the menu-bar app's (macDesktop, set by a darwin cgo build),
// elsewhere none.
func desktopNotifier(log *slog.Logger) shell.Desktop {
	if macDesktop != nil {
		return macDesktop(log)
	}
	return nil
}

// macDesktop is set in a darwin cgo build (desktop_darwin.go).
var macDesktop func(*slog.Logger) shell.Desktop

// notificationCheck is Linux's; the macOS notification centre is checked
// on a Mac (docs/macos.md).
func notificationCheck() *check { return nil }
