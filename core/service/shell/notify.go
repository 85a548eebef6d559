package shell

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
)

// desktopNotify returns a Notify that shows each new request with
// notify-send, when it is installed and a desktop session is reachable.
// It never blocks the request: the notification is sent in the
// background and given up after five seconds.
func desktopNotify(log *slog.Logger) func(approval.Pending) {
	return func(p approval.Pending) {
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
			return
		}
		bin, err := exec.LookPath("notify-send")
		if err != nil {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, notifyArgs(p)...)
			if err := cmd.Run(); err != nil {
				log.Debug("notify-send failed", "id", p.ID, "err", err)
			}
		}()
	}
}

// notifyArgs is notify-send's argv for p. The body is escaped: many
// notification servers read it as markup.
func notifyArgs(p approval.Pending) []string {
	cmd := p.Command
	if len(cmd) > 200 {
		cmd = cmd[:200] + "…"
	}
	body := markupEscape(cmd) + "\nin " + markupEscape(p.Cwd) +
		"\n\ncarapace approve " + p.ID + "   ·   carapace deny " + p.ID
	return []string{"--app-name=Carapace", "--urgency=critical", "--",
		"Carapace: approve a shell command?", body}
}

var markup = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func markupEscape(s string) string { return markup.Replace(s) }
