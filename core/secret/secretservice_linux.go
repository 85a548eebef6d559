package secret

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

// The Secret Service API (freedesktop.org, version 0.2), as GNOME
// Keyring and KeePassXC serve it on the session bus.
const (
	ssName       = "org.freedesktop.secrets"
	ssPath       = dbus.ObjectPath("/org/freedesktop/secrets")
	ssIface      = "org.freedesktop.Secret.Service"
	ssCollection = "org.freedesktop.Secret.Collection"
	ssItem       = "org.freedesktop.Secret.Item"
	ssPrompt     = "org.freedesktop.Secret.Prompt"
	ssDefault    = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")
	noPrompt     = dbus.ObjectPath("/")
	promptWait   = 2 * time.Minute // the owner typing the keyring's password
)

// ssSecret is the API's Secret struct (oayays): the session, the
// algorithm's parameters (none for "plain"), the value, its type.
type ssSecret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

func init() { secretService = openSecretService }

// secretServiceStore talks to the Secret Service over a session-bus
// connection of its own, in a "plain" session: the bus is the owner's
// alone (its socket is theirs), as the Secret Service's own clients
// (secret-tool, libsecret without a DH session) assume.
type secretServiceStore struct {
	conn    *dbus.Conn
	session dbus.ObjectPath
}

// openSecretService connects to the session bus and opens a session, or
// fails when there is no bus or no Secret Service on it.
func openSecretService() (Store, error) {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return nil, errors.New("no session bus (DBUS_SESSION_BUS_ADDRESS is empty)")
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return nil, err
	}
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := conn.Object(ssName, ssPath).Call(ssIface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		conn.Close()
		return nil, fmt.Errorf("secret service: %w", err)
	}
	return &secretServiceStore{conn: conn, session: session}, nil
}

func (s *secretServiceStore) String() string { return "the Secret Service (" + ssName + ")" }

func attrs(name string) map[string]string {
	a := map[string]string{"application": "carapace"}
	if name != "" {
		a["name"] = name
	}
	return a
}

// unlock unlocks the default collection, prompting the owner if the
// service asks to.
func (s *secretServiceStore) unlock(paths ...dbus.ObjectPath) error {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := s.conn.Object(ssName, ssPath).Call(ssIface+".Unlock", 0, paths).Store(&unlocked, &prompt); err != nil {
		return fmt.Errorf("secret service: unlock: %w", err)
	}
	return s.prompt(prompt)
}

// prompt shows a prompt the service asked for and waits for the owner.
func (s *secretServiceStore) prompt(p dbus.ObjectPath) error {
	if p == noPrompt || p == "" {
		return nil
	}
	ch := make(chan *dbus.Signal, 4)
	s.conn.Signal(ch)
	defer s.conn.RemoveSignal(ch)
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(p), dbus.WithMatchInterface(ssPrompt)}
	if err := s.conn.AddMatchSignal(match...); err != nil {
		return err
	}
	defer s.conn.RemoveMatchSignal(match...)
	if err := s.conn.Object(ssName, p).Call(ssPrompt+".Prompt", 0, "").Err; err != nil {
		return fmt.Errorf("secret service: prompt: %w", err)
	}
	timeout := time.After(promptWait)
	for {
		select {
		case sig := <-ch:
			if sig.Path != p || sig.Name != ssPrompt+".Completed" {
				continue
			}
			if len(sig.Body) > 0 {
				if dismissed, _ := sig.Body[0].(bool); dismissed {
					return errors.New("secret service: the prompt was dismissed")
				}
			}
			return nil
		case <-timeout:
			return errors.New("secret service: no answer to the prompt")
		}
	}
}

func (s *secretServiceStore) search(name string) ([]dbus.ObjectPath, error) {
	var items []dbus.ObjectPath
	if err := s.conn.Object(ssName, ssDefault).Call(ssCollection+".SearchItems", 0, attrs(name)).Store(&items); err != nil {
		return nil, fmt.Errorf("secret service: search: %w", err)
	}
	return items, nil
}

// Set creates (or replaces) the item {application: carapace, name}.
func (s *secretServiceStore) Set(name string, value []byte) error {
	if err := s.unlock(ssDefault); err != nil {
		return err
	}
	props := map[string]dbus.Variant{
		ssItem + ".Label":      dbus.MakeVariant("Carapace: " + name),
		ssItem + ".Attributes": dbus.MakeVariant(attrs(name)),
	}
	sec := ssSecret{Session: s.session, Parameters: []byte{}, Value: value, ContentType: "text/plain"}
	var item, prompt dbus.ObjectPath
	if err := s.conn.Object(ssName, ssDefault).Call(ssCollection+".CreateItem", 0, props, sec, true).Store(&item, &prompt); err != nil {
		return fmt.Errorf("set secret %s: secret service: %w", name, err)
	}
	return s.prompt(prompt)
}

// Get returns the first matching item's value.
func (s *secretServiceStore) Get(name string) ([]byte, error) {
	items, err := s.search(name)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("get secret %s: %w", name, ErrNotFound)
	}
	if err := s.unlock(items[0]); err != nil {
		return nil, err
	}
	var sec ssSecret
	if err := s.conn.Object(ssName, items[0]).Call(ssItem+".GetSecret", 0, s.session).Store(&sec); err != nil {
		return nil, fmt.Errorf("get secret %s: secret service: %w", name, err)
	}
	return sec.Value, nil
}

// List reads each Carapace item's name attribute.
func (s *secretServiceStore) List() ([]string, error) {
	items, err := s.search("")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		v, err := s.conn.Object(ssName, it).GetProperty(ssItem + ".Attributes")
		if err != nil {
			continue
		}
		if a, ok := v.Value().(map[string]string); ok && CheckName(a["name"]) == nil {
			out = append(out, a["name"])
		}
	}
	return out, nil
}

// Delete deletes every matching item.
func (s *secretServiceStore) Delete(name string) error {
	items, err := s.search(name)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("remove secret %s: %w", name, ErrNotFound)
	}
	for _, it := range items {
		var prompt dbus.ObjectPath
		if err := s.conn.Object(ssName, it).Call(ssItem+".Delete", 0).Store(&prompt); err != nil {
			return fmt.Errorf("remove secret %s: secret service: %w", name, err)
		}
		if err := s.prompt(prompt); err != nil {
			return err
		}
	}
	return nil
}
