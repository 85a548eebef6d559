package audit

import (
	"errors"

	"github.com/coreos/go-systemd/v22/journal"
)

// MessageID is the MESSAGE_ID of every Carapace decision in the journal
// (journalctl MESSAGE_ID=…), fixed for good: SIEM rules match on it.
const MessageID = "4f1c7e2a9b5d4c38a6e0d2b7c9f13a55"

// Journald sends each record to the systemd journal over its native
// protocol (coreos/go-systemd's journal package): one field per record
// key, CARAPACE_DECISION, CARAPACE_AGENT, CARAPACE_METHOD, …, with
// MESSAGE_ID, SYSLOG_IDENTIFIER=carapace, a deny at PRIORITY warning and
// everything else at info.
type Journald struct {
	// send is journal.Send; tests replace it.
	send func(msg string, p journal.Priority, vars map[string]string) error
}

// NewJournald returns the journald exporter, or an error when no journal
// listens on this machine.
func NewJournald() (*Journald, error) {
	if !journal.Enabled() {
		return nil, errors.New("no journald socket (/run/systemd/journal/socket)")
	}
	return &Journald{send: journal.Send}, nil
}

// Name returns "journald".
func (j *Journald) Name() string { return "journald" }

// Export sends one record.
func (j *Journald) Export(_ []byte, f []Field) error {
	msg, prio, vars := JournalEntry(f)
	return j.send(msg, prio, vars)
}

// Close does nothing: the library keeps one socket for the process.
func (j *Journald) Close() error { return nil }

// JournalEntry is the journal entry of a record: its message, priority and
// fields.
func JournalEntry(f []Field) (string, journal.Priority, map[string]string) {
	vars := make(map[string]string, len(f)+2)
	for _, x := range f {
		vars[FieldName(x.Key)] = x.Value
	}
	vars["MESSAGE_ID"] = MessageID
	vars["SYSLOG_IDENTIFIER"] = "carapace"
	prio := journal.PriInfo
	if Get(f, "decision") == Deny {
		prio = journal.PriWarning
	}
	return "carapace: " + Summary(f), prio, vars
}
