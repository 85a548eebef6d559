// Package desktoptest starts a private D-Bus session bus and a fake
// freedesktop notification server on it, for tests of linux/desktop and
// of the stack that uses it.
package desktoptest

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	busName = "org.freedesktop.Notifications"
	objPath = dbus.ObjectPath("/org/freedesktop/Notifications")
	iface   = "org.freedesktop.Notifications"
)

// StartBus starts a private session bus (dbus-daemon --session) for the
// test and returns its address; the test is skipped where dbus-daemon is
// not installed.
func StartBus(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (apt-get install dbus): the D-Bus notification tests need a private session bus")
	}
	cmd := exec.Command(bin, "--session", "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("dbus-daemon did not start: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return addr
	case <-time.After(30 * time.Second):
		t.Fatal("dbus-daemon printed no address in 30s")
	}
	return ""
}

// Notified is one Notify call the fake server received.
type Notified struct {
	ID                     uint32
	AppName, Summary, Body string
	Actions                []string
}

// FakeServer is a notification server on a test bus: it records Notify
// and CloseNotification calls and emits ActionInvoked when told.
type FakeServer struct {
	Conn   *dbus.Conn
	next   uint32
	Notes  chan Notified
	Closed chan uint32
}

// StartFakeServer owns org.freedesktop.Notifications on the bus at addr.
func StartFakeServer(t testing.TB, addr string) *FakeServer {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &FakeServer{Conn: conn, Notes: make(chan Notified, 16), Closed: make(chan uint32, 16)}
	if err := conn.Export(fakeMethods{f}, objPath, iface); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request name: %v %v", r, err)
	}
	return f
}

// Invoke emits ActionInvoked(id, key) as the server.
func (f *FakeServer) Invoke(t testing.TB, id uint32, key string) {
	t.Helper()
	if err := f.Conn.Emit(objPath, iface+".ActionInvoked", id, key); err != nil {
		t.Fatal(err)
	}
}

type fakeMethods struct{ f *FakeServer }

func (m fakeMethods) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	m.f.next++
	m.f.Notes <- Notified{ID: m.f.next, AppName: app, Summary: summary, Body: body, Actions: actions}
	return m.f.next, nil
}

func (m fakeMethods) CloseNotification(id uint32) *dbus.Error {
	m.f.Closed <- id
	return nil
}

func (m fakeMethods) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body", "body-markup"}, nil
}
