package shell

import (
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/approval"
)

// Desktop shows a request where the owner can answer it without a
// terminal: a Linux desktop notification with action buttons
// (linux/desktop, the freedesktop Notifications D-Bus interface), the
// macOS notification centre. The platform package provides it; nil shows
// nothing of the kind.
type Desktop interface {
	// Show presents n. answer is called at most once, from any
	// goroutine, with the key of the choice the owner took; a
	// notification dismissed without a choice calls nothing (the request
	// keeps waiting). Show must not block for long.
	Show(n Notification, answer func(key string)) error
	// Withdraw removes request id's notification: it was decided
	// elsewhere or ended.
	Withdraw(id string)
}

// Notification is a request as a desktop notification shows it.
type Notification struct {
	ID      string // the request's id
	Title   string
	Body    string   // plain text; the Desktop escapes it for its markup
	Choices []Choice // in the order shown
}

// Choice is one button: its key (what answer receives), its label, and
// the decision it makes.
type Choice struct {
	Key, Label string
	Decision   approval.Decision
}

// maxShown caps the command as a notification shows it.
const maxShown = 300

// notification is p as the owner is shown it on the desktop: the command
// with control characters made visible, its directory, who asks, what a
// remembered choice would cover, and the choices that apply.
func notification(p approval.Pending) Notification {
	cmd := visible(p.Command)
	if len(cmd) > maxShown {
		cmd = cmd[:maxShown] + "…"
	}
	who := p.Caller.Agent
	if who == "" {
		who = fmt.Sprintf("uid %d pid %d", p.Caller.UID, p.Caller.PID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nin %s\nasked by %s", cmd, visible(p.Cwd), visible(who))
	choices := []Choice{{Key: "allow-once", Label: "Allow once", Decision: approval.Decision{Allow: true, Scope: approval.Once}}}
	switch {
	case p.NoRemember != "":
		fmt.Fprintf(&b, "\n\nasked every time: %s", visible(p.NoRemember))
	case p.Covers != "":
		scope := approval.Always
		label := "Always allow"
		if p.Caller.JTI != "" {
			scope, label = approval.ForToken, "Allow for this agent's token"
		}
		covers, err := approval.PreviewRequest(p, approval.Decision{Allow: true, Scope: scope})
		if err == nil {
			fmt.Fprintf(&b, "\n\n%s covers: %s", label, visible(covers))
			choices = append(choices, Choice{Key: "allow-scope", Label: label, Decision: approval.Decision{Allow: true, Scope: scope}})
		}
	}
	fmt.Fprintf(&b, "\n\ncarapace approve %s   ·   carapace deny %s", p.ID, p.ID)
	choices = append(choices, Choice{Key: "deny", Label: "Deny", Decision: approval.Decision{}})
	return Notification{ID: p.ID, Title: "Carapace: run this command?", Body: b.String(), Choices: choices}
}

// visible replaces control characters with ␣, so a command cannot hide a
// second line or redraw anything.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return '␣'
		}
		return r
	}, s)
}

// showDesktop is the Notify hook for a Desktop: it shows each request and
// turns the owner's choice into a decision on the queue, recorded with
// the channel "notification".
func (s *Service) showDesktop(p approval.Pending) {
	go s.show(p) // Notify must not block the request
}

func (s *Service) show(p approval.Pending) {
	n := notification(p)
	err := s.cfg.Desktop.Show(n, func(key string) {
		for _, c := range n.Choices {
			if c.Key != key {
				continue
			}
			d := c.Decision
			d.Channel = "notification"
			if _, err := s.decideWith(nil, "shell.approvals.notification", p.ID, d); err != nil {
				s.cfg.Log.Info("notification answer not taken", "id", p.ID, "choice", key, "err", err)
			}
			return
		}
		s.cfg.Log.Warn("notification answered with an unknown choice", "id", p.ID, "choice", key)
	})
	if err != nil {
		s.cfg.Log.Debug("desktop notification not shown", "id", p.ID, "err", err)
	}
}
