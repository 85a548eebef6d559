// Package desktop shows the shell service's approval requests as desktop
// notifications with action buttons, through the freedesktop.org
// Desktop Notifications Specification's D-Bus interface
// (org.freedesktop.Notifications on the session bus): Notify with an
// actions list, the ActionInvoked signal for the owner's choice,
// CloseNotification when the request is decided elsewhere.
//
// A choice is taken only from an ActionInvoked signal whose sender is the
// bus name that owns org.freedesktop.Notifications (the bus daemon fills
// in the sender; a client cannot forge it), for a notification this
// package showed, with one of the keys it offered.
package desktop

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gimme-tools/carapace/core/service/shell"
)

// The interface, as the specification names it.
const (
	busName   = "org.freedesktop.Notifications"
	objPath   = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface     = "org.freedesktop.Notifications"
	urgency   = "urgency"
	critical  = byte(2) // urgency level 2: critical (stays until answered on most servers)
	noTimeout = int32(0)
)

// Notifier is a shell.Desktop on the session bus. The zero value is not
// usable; use New.
type Notifier struct {
	log *slog.Logger
	// connect opens the session bus (dbus.ConnectSessionBus; tests give
	// a private bus).
	connect func() (*dbus.Conn, error)

	mu     sync.Mutex
	conn   *dbus.Conn
	server string                // the unique name owning busName when we connected
	shown  map[uint32]*shownNote // notification id → request
	byReq  map[string]uint32     // request id → notification id
	gone   map[string]bool       // requests withdrawn before they were shown
	// early holds the server's actions on ids not yet known: the signal
	// can overtake Notify's reply.
	early map[uint32]earlyAction
}

// earlyAction is an action on an id not yet known, taken only if Notify's
// reply brings that id within earlyFor.
type earlyAction struct {
	key string
	at  time.Time
}

const earlyFor = 5 * time.Second

type shownNote struct {
	req    string
	keys   map[string]bool
	answer func(string)
}

// New returns a Notifier that connects to the session bus
// ($DBUS_SESSION_BUS_ADDRESS) when it first shows something.
func New(log *slog.Logger) *Notifier {
	return NewWith(log, func() (*dbus.Conn, error) { return dbus.ConnectSessionBus() })
}

// NewWith is New with its own way to reach the bus.
func NewWith(log *slog.Logger, connect func() (*dbus.Conn, error)) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	return &Notifier{log: log, connect: connect, shown: map[uint32]*shownNote{}, byReq: map[string]uint32{}, gone: map[string]bool{}, early: map[uint32]earlyAction{}}
}

var _ shell.Desktop = (*Notifier)(nil)

// Show implements shell.Desktop.
func (n *Notifier) Show(note shell.Notification, answer func(string)) error {
	conn, err := n.bus()
	if err != nil {
		return err
	}
	actions := make([]string, 0, 2*len(note.Choices))
	keys := map[string]bool{}
	for _, c := range note.Choices {
		actions = append(actions, c.Key, c.Label)
		keys[c.Key] = true
	}
	hints := map[string]dbus.Variant{urgency: dbus.MakeVariant(critical)}
	var id uint32
	call := conn.Object(busName, objPath).Call(iface+".Notify", 0,
		"Carapace", uint32(0), "dialog-question", note.Title, markupEscape(note.Body), actions, hints, noTimeout)
	if err := call.Store(&id); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	n.mu.Lock()
	if n.gone[note.ID] {
		delete(n.gone, note.ID)
		n.mu.Unlock()
		go n.close(conn, id)
		return nil
	}
	ea, early := n.early[id]
	delete(n.early, id)
	if early && keys[ea.key] && time.Since(ea.at) < earlyFor {
		n.mu.Unlock()
		answer(ea.key)
		go n.close(conn, id)
		return nil
	}
	n.shown[id] = &shownNote{req: note.ID, keys: keys, answer: answer}
	n.byReq[note.ID] = id
	n.mu.Unlock()
	return nil
}

// Withdraw implements shell.Desktop.
func (n *Notifier) Withdraw(req string) {
	n.mu.Lock()
	id, ok := n.byReq[req]
	conn := n.conn
	if ok {
		delete(n.byReq, req)
		delete(n.shown, id)
	} else if len(n.gone) < 1024 {
		n.gone[req] = true
	}
	n.mu.Unlock()
	if ok && conn != nil {
		n.close(conn, id)
	}
}

func (n *Notifier) close(conn *dbus.Conn, id uint32) {
	if err := conn.Object(busName, objPath).Call(iface+".CloseNotification", 0, id).Err; err != nil {
		n.log.Debug("close notification", "id", id, "err", err)
	}
}

// bus returns the connection, opening it and subscribing to the
// server's signals the first time (and again after it was lost).
func (n *Notifier) bus() (*dbus.Conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil && n.conn.Connected() {
		return n.conn, nil
	}
	conn, err := n.connect()
	if err != nil {
		return nil, fmt.Errorf("session bus: %w", err)
	}
	var owner string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner); err != nil {
		conn.Close()
		return nil, fmt.Errorf("no notification server on the session bus: %w", err)
	}
	if err := conn.AddMatchSignal(dbus.WithMatchSender(busName), dbus.WithMatchObjectPath(objPath),
		dbus.WithMatchInterface(iface), dbus.WithMatchMember("ActionInvoked")); err != nil {
		conn.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	ch := make(chan *dbus.Signal, 16)
	conn.Signal(ch)
	n.conn, n.server = conn, owner
	n.shown, n.byReq = map[uint32]*shownNote{}, map[string]uint32{}
	go n.signals(conn, owner, ch)
	return conn, nil
}

// signals takes the owner's choices until the connection ends.
func (n *Notifier) signals(conn *dbus.Conn, server string, ch chan *dbus.Signal) {
	for sig := range ch {
		if sig.Name != iface+".ActionInvoked" || sig.Path != objPath {
			continue
		}
		if sig.Sender != server {
			n.log.Warn("notification action from a sender that is not the notification server: ignored", "sender", sig.Sender, "server", server)
			continue
		}
		id, key, err := actionArgs(sig.Body)
		if err != nil {
			n.log.Warn("malformed ActionInvoked signal: ignored", "err", err)
			continue
		}
		n.mu.Lock()
		s, ok := n.shown[id]
		if ok && s.keys[key] {
			delete(n.shown, id)
			delete(n.byReq, s.req)
		}
		if !ok && len(n.early) < 64 {
			n.early[id] = earlyAction{key, time.Now()} // perhaps ours, its Notify reply still on the way
		}
		n.mu.Unlock()
		if !ok || !s.keys[key] {
			continue // another program's notification, or a key we never offered
		}
		s.answer(key)
		go n.close(conn, id)
	}
}

// actionArgs reads ActionInvoked's (UINT32 id, STRING action_key).
func actionArgs(body []any) (uint32, string, error) {
	if len(body) != 2 {
		return 0, "", errors.New("want two arguments")
	}
	id, ok1 := body[0].(uint32)
	key, ok2 := body[1].(string)
	if !ok1 || !ok2 {
		return 0, "", errors.New("want (uint32, string)")
	}
	return id, key, nil
}

// Close ends the connection to the bus.
func (n *Notifier) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}

// markupEscape escapes the body: the specification lets servers read it
// as a small markup language.
var markupEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// Reachable reports whether a notification server owns
// org.freedesktop.Notifications on the session bus, and which (its
// unique name), for `carapace doctor`.
func Reachable() (string, error) {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return "", fmt.Errorf("session bus: %w", err)
	}
	defer conn.Close()
	var owner string
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&owner); err != nil {
		return "", fmt.Errorf("no notification server on the session bus: %w", err)
	}
	return owner, nil
}
