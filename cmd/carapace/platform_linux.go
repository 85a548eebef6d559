package main

import (
	"log/slog"
	"os"

	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/linux/desktop"
	// The Linux sandbox sets core/sandbox's hooks (Wrap, ConfineSelf).
	linuxsandbox "github.com/gimme-tools/carapace/linux/sandbox"
)

// desktopNotifier is where the shell service shows requests the owner can
// answer without a terminal: freedesktop notifications with actions on
// the session bus, when the service has one.
func desktopNotifier(log *slog.Logger) shell.Desktop {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nil
	}
	return desktop.New(log)
}

// sandboxExec runs `carapace sandbox-exec --spec S -- CMD ARGS…`: the
// helper the code service wraps every command in.
func sandboxExec(args []string) int { return linuxsandbox.ExecMain(args) }

// notificationCheck says whether shell approvals can reach the owner as
// desktop notifications with buttons.
func notificationCheck() *check {
	c := check{Name: "approval notifications", OK: true}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		c.Warn, c.Detail = true, "no desktop session bus here: requests are not shown as notifications"
		c.Fix = "answer with `carapace approvals --watch` in a terminal"
		return &c
	}
	owner, err := desktop.Reachable()
	if err != nil {
		c.Warn, c.Detail, c.Fix = true, err.Error(), "start your desktop's notification daemon, or answer with `carapace approvals --watch`"
		return &c
	}
	c.Detail = "notifications with Allow/Deny buttons, through " + owner
	return &c
}
