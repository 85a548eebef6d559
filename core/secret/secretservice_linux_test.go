package secret

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// fakeSS is a Secret Service stand-in: the methods secretServiceStore
// calls, on a bus of the test's own, keeping items in memory.
type fakeSS struct {
	conn  *dbus.Conn
	mu    sync.Mutex
	items map[dbus.ObjectPath]*fakeItem
	next  int
}

type fakeItem struct {
	attrs map[string]string
	value []byte
}

type fakeService struct{ f *fakeSS }
type fakeCollection struct{ f *fakeSS }
type fakeItemObj struct {
	f    *fakeSS
	path dbus.ObjectPath
}

func (s fakeService) OpenSession(alg string, in dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	if alg != "plain" {
		return dbus.Variant{}, "", dbus.MakeFailedError(errors.New("unsupported"))
	}
	return dbus.MakeVariant(""), "/org/freedesktop/secrets/session/1", nil
}

func (s fakeService) Unlock(paths []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	return paths, noPrompt, nil
}

func (c fakeCollection) SearchItems(attrs map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var out []dbus.ObjectPath
	for p, it := range c.f.items {
		match := true
		for k, v := range attrs {
			match = match && it.attrs[k] == v
		}
		if match {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (c fakeCollection) CreateItem(props map[string]dbus.Variant, sec ssSecret, replace bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	attrs, _ := props[ssItem+".Attributes"].Value().(map[string]string)
	if sec.Session != "/org/freedesktop/secrets/session/1" {
		return "", "", dbus.MakeFailedError(errors.New("bad session"))
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	for p, it := range c.f.items {
		if replace && maps.Equal(it.attrs, attrs) {
			it.value = sec.Value
			return p, noPrompt, nil
		}
	}
	c.f.next++
	p := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/secrets/collection/login/%d", c.f.next))
	c.f.items[p] = &fakeItem{attrs: attrs, value: sec.Value}
	obj := fakeItemObj{c.f, p}
	c.f.conn.Export(obj, p, ssItem)
	c.f.conn.Export(fakeProps(obj), p, "org.freedesktop.DBus.Properties")
	return p, noPrompt, nil
}

func (o fakeItemObj) GetSecret(session dbus.ObjectPath) (ssSecret, *dbus.Error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	return ssSecret{Session: session, Parameters: []byte{}, Value: o.f.items[o.path].value, ContentType: "text/plain"}, nil
}

func (o fakeItemObj) Delete() (dbus.ObjectPath, *dbus.Error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	delete(o.f.items, o.path)
	return noPrompt, nil
}

type fakeProps fakeItemObj

func (o fakeProps) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	if it := o.f.items[o.path]; it != nil && prop == "Attributes" {
		return dbus.MakeVariant(it.attrs), nil
	}
	return dbus.Variant{}, dbus.MakeFailedError(errors.New("no such property"))
}

// privateBus starts a dbus-daemon of the test's own and points
// DBUS_SESSION_BUS_ADDRESS at it.
func privateBus(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		t.Skip("no dbus-daemon (the Secret Service test needs a bus of its own)")
	}
	addr := "unix:path=" + t.TempDir() + "/bus"
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--address="+addr, "--print-address")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Skipf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n') // printed once it listens
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", strings.TrimSpace(line))
	return strings.TrimSpace(line)
}

// TestSecretServiceStore: set, get, list and rm through the Secret
// Service API, against a stand-in on a bus of the test's own.
func TestSecretServiceStore(t *testing.T) {
	addr := privateBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f := &fakeSS{conn: conn, items: map[dbus.ObjectPath]*fakeItem{}}
	conn.Export(fakeService{f}, ssPath, ssIface)
	conn.Export(fakeCollection{f}, ssDefault, ssCollection)
	if r, err := conn.RequestName(ssName, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request name: %v %v", r, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var s Store
	for s, err = openSecretService(); err != nil && time.Now().Before(deadline); s, err = openSecretService() {
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ss := NewStores(s)
	if err := ss.Set("github", []byte("ghp_value")); err != nil {
		t.Fatal(err)
	}
	ss.Set("github", []byte("ghp_value2"))
	ss.Set("npm", []byte("npm_value"))
	if v, err := ss.Get("github"); err != nil || string(v) != "ghp_value2" {
		t.Fatalf("get: %q %v", v, err)
	}
	if names, err := ss.List(); err != nil || !slices.Equal(names, []string{"github", "npm"}) {
		t.Errorf("list: %v %v", names, err)
	}
	if err := ss.Delete("github"); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.Get("github"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after rm: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.items[f.itemFor("npm")].attrs["application"] != "carapace" {
		t.Errorf("items: %v", f.items)
	}
}

func (f *fakeSS) itemFor(name string) dbus.ObjectPath {
	for p, it := range f.items {
		if it.attrs["name"] == name {
			return p
		}
	}
	return ""
}
