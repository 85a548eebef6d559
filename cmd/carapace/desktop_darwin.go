package main

import (
	"log/slog"
	"sync"

	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/xpcbridge/macapp"
)

// On macOS the shell service shows requests in the notification centre
// with the same choices as on Linux (UserNotifications, through
// xpcbridge/macapp, built with -tags macsdk). Verified only on a Mac.
func init() {
	macDesktop = func(log *slog.Logger) shell.Desktop {
		d := &macNotes{log: log, answers: map[string]func(string){}}
		macapp.ApprovalAnswer = d.answer
		return d
	}
}

// macNotes is a shell.Desktop on UserNotifications.
type macNotes struct {
	log     *slog.Logger
	mu      sync.Mutex
	answers map[string]func(string) // request id → its answer, until used
}

func (m *macNotes) Show(n shell.Notification, answer func(string)) error {
	acts := make([]macapp.Action, len(n.Choices))
	for i, c := range n.Choices {
		acts[i] = macapp.Action{Key: c.Key, Title: c.Label}
	}
	m.mu.Lock()
	m.answers[n.ID] = answer
	m.mu.Unlock()
	if err := macapp.ShowApproval(n.ID, n.Title, n.Body, acts); err != nil {
		m.Withdraw(n.ID)
		return err
	}
	return nil
}

func (m *macNotes) Withdraw(id string) {
	m.mu.Lock()
	delete(m.answers, id)
	m.mu.Unlock()
	macapp.WithdrawApproval(id)
}

// answer takes the owner's choice once; the shell service checks the key
// against the choices it offered.
func (m *macNotes) answer(id, key string) {
	m.mu.Lock()
	f := m.answers[id]
	delete(m.answers, id)
	m.mu.Unlock()
	if f != nil {
		f(key)
	}
}
