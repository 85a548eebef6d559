package desktop

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gimme-tools/carapace/core/approval"
	"github.com/gimme-tools/carapace/core/service/shell"
	"github.com/gimme-tools/carapace/linux/desktop/desktoptest"
)

func testNote() shell.Notification {
	return shell.Notification{ID: "1a2b3c4d", Title: "Carapace: run this command?", Body: "git status <b>\nin /home/o/demo",
		Choices: []shell.Choice{{Key: "allow-once", Label: "Allow once"},
			{Key: "allow-scope", Label: "Always allow", Decision: approval.Decision{Allow: true, Scope: approval.Always}},
			{Key: "deny", Label: "Deny"}}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestNotifyAndAnswer: the request is shown with its buttons (body
// escaped, critical), the server's ActionInvoked answers it once, and
// the notification is closed.
func TestNotifyAndAnswer(t *testing.T) {
	addr := desktoptest.StartBus(t)
	srv := desktoptest.StartFakeServer(t, addr)
	n := NewWith(quiet(), func() (*dbus.Conn, error) { return dbus.Connect(addr) })
	defer n.Close()
	answers := make(chan string, 4)
	if err := n.Show(testNote(), func(k string) { answers <- k }); err != nil {
		t.Fatal(err)
	}
	got := <-srv.Notes
	if got.AppName != "Carapace" || !strings.Contains(got.Body, "git status &lt;b&gt;") ||
		strings.Join(got.Actions, "|") != "allow-once|Allow once|allow-scope|Always allow|deny|Deny" {
		t.Fatalf("notify %+v", got)
	}
	srv.Invoke(t, got.ID, "allow-scope")
	select {
	case k := <-answers:
		if k != "allow-scope" {
			t.Fatalf("answer %q", k)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	if id := <-srv.Closed; id != got.ID {
		t.Fatalf("closed %d, want %d", id, got.ID)
	}
	// A second signal for the same notification answers nothing.
	srv.Invoke(t, got.ID, "deny")
	n.Withdraw("other")
	select {
	case k := <-answers:
		t.Fatalf("answered twice: %q", k)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestForgedActionIgnored: an ActionInvoked signal from any other bus
// client than the notification server, or with a key that was not
// offered, decides nothing; Withdraw closes the notification.
func TestForgedActionIgnored(t *testing.T) {
	addr := desktoptest.StartBus(t)
	srv := desktoptest.StartFakeServer(t, addr)
	n := NewWith(quiet(), func() (*dbus.Conn, error) { return dbus.Connect(addr) })
	defer n.Close()
	answers := make(chan string, 4)
	if err := n.Show(testNote(), func(k string) { answers <- k }); err != nil {
		t.Fatal(err)
	}
	got := <-srv.Notes
	forger, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	if err := forger.Emit(objPath, iface+".ActionInvoked", got.ID, "allow-scope"); err != nil {
		t.Fatal(err)
	}
	srv.Invoke(t, got.ID, "allow-everything-forever")
	// Round trips on both connections: the bus has delivered what they
	// sent before the answer below.
	var s string
	forger.BusObject().Call("org.freedesktop.DBus.GetId", 0).Store(&s)
	srv.Conn.BusObject().Call("org.freedesktop.DBus.GetId", 0).Store(&s)
	srv.Invoke(t, got.ID, "deny")
	select {
	case k := <-answers:
		if k != "deny" {
			t.Fatalf("a forged or unoffered action was taken: %q", k)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	// Withdraw closes a shown notification.
	n.Show(shell.Notification{ID: "second", Choices: testNote().Choices}, func(string) {})
	second := <-srv.Notes
	<-srv.Closed // the first one's close
	n.Withdraw("second")
	if id := <-srv.Closed; id != second.ID {
		t.Fatalf("withdraw closed %d, want %d", id, second.ID)
	}
}

// TestNoServer: without a notification server Show fails (the request
// keeps waiting for the CLI).
func TestNoServer(t *testing.T) {
	addr := desktoptest.StartBus(t)
	n := NewWith(quiet(), func() (*dbus.Conn, error) { return dbus.Connect(addr) })
	defer n.Close()
	if err := n.Show(testNote(), func(string) { t.Error("answered") }); err == nil {
		t.Fatal("shown without a server")
	}
}
