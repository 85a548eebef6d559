//go:build unix

package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/peer"
	"golang.org/x/sys/unix"
)

// helperEnv switches the test binary into one of its helper roles: a
// planted listener ("listen") or a victim's client ("dial").
const helperEnv = "CARAPACE_CLIENT_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "listen":
		listenHelper()
		return
	case "dial":
		dialHelper()
		return
	}
	os.Exit(m.Run())
}

// fakeTmp makes a directory shaped like /tmp (root's or ours, mode 1777)
// and points TMPDIR at it, with XDG_RUNTIME_DIR unset: the dev stack's
// shared runtime directory is then fakeTmp/carapace-<uid>.
func fakeTmp(t *testing.T) (base, tmp string) {
	t.Helper()
	base = t.TempDir()
	must(t, os.Chmod(filepath.Dir(base), 0o755)) // testing's parent is 0700
	must(t, os.Chmod(base, 0o755))
	tmp = filepath.Join(base, "tmp")
	must(t, os.Mkdir(tmp, 0o755))
	must(t, os.Chmod(tmp, 0o777|os.ModeSticky))
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("GIMME_SOCKET", "")
	old := installed
	installed = filepath.Join(base, "run", "gimme", "router.sock")
	t.Cleanup(func() { installed = old })
	return base, tmp
}

// TestSocketOrder: the user's private XDG_RUNTIME_DIR stack, then the
// installed socket, and only then a name in the shared TMPDIR, which any
// user can create first.
func TestSocketOrder(t *testing.T) {
	base, tmp := fakeTmp(t)
	xdg := filepath.Join(base, "xdg")
	shared := filepath.Join(tmp, "carapace-"+strconv.Itoa(os.Geteuid()), "router.sock")
	private := filepath.Join(xdg, "carapace", "router.sock")
	given := filepath.Join(base, "given.sock")
	for _, tc := range []struct {
		name             string
		xdg              bool // XDG_RUNTIME_DIR set
		have             []string
		explicit, envSet string
		want             string
	}{
		{name: "nothing", want: installed},
		{name: "shared only", have: []string{shared}, want: shared},
		{name: "installed beats shared", have: []string{shared, installed}, want: installed},
		{name: "installed beats shared, XDG set but empty", xdg: true, have: []string{shared, installed}, want: installed},
		{name: "private beats installed", xdg: true, have: []string{private, installed, shared}, want: private},
		{name: "private only", xdg: true, have: []string{private}, want: private},
		{name: "env beats all", xdg: true, have: []string{private, installed, shared}, envSet: given, want: given},
		{name: "flag beats env", xdg: true, have: []string{private}, envSet: given, explicit: "/x.sock", want: "/x.sock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []string{shared, private, installed} {
				os.RemoveAll(filepath.Dir(p))
			}
			for _, p := range tc.have {
				must(t, os.MkdirAll(filepath.Dir(p), 0o700))
				must(t, os.WriteFile(p, nil, 0o600))
			}
			t.Setenv("XDG_RUNTIME_DIR", "")
			if tc.xdg {
				must(t, os.MkdirAll(xdg, 0o700))
				t.Setenv("XDG_RUNTIME_DIR", xdg)
			}
			t.Setenv("GIMME_SOCKET", tc.envSet)
			if got := Socket(tc.explicit); got != tc.want {
				t.Errorf("Socket = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestTrustedServers: who may serve each kind of socket.
func TestTrustedServers(t *testing.T) {
	me := os.Geteuid()
	if me == 0 || me == 4242 {
		t.Skip("needs a caller that is neither root nor the stand-in router uid; TestAsOrdinaryUser runs it")
	}
	old := routerUID
	routerUID = func() (int, bool) { return 4242, true }
	t.Cleanup(func() { routerUID = old })
	_, tmp := fakeTmp(t)
	dev := filepath.Join(tmp, "carapace-"+strconv.Itoa(me), "router.sock")
	for _, tc := range []struct {
		socket string
		uid    int
		want   bool
	}{
		{dev, me, true}, {dev, 0, false}, {dev, 4242, false}, {dev, 54321, false},
		{installed, 0, true}, {installed, 4242, true}, {installed, 54321, false},
		{"/srv/r.sock", me, true}, {"/srv/r.sock", 0, true}, {"/srv/r.sock", 4242, true}, {"/srv/r.sock", 54321, false},
	} {
		if got := placeOf(tc.socket).trusted(tc.uid); got != tc.want {
			t.Errorf("%s served by uid %d: trusted %v, want %v", tc.socket, tc.uid, got, tc.want)
		}
	}
	routerUID = func() (int, bool) { return 0, false } // no _gimme_router here
	if placeOf(installed).trusted(4242) {
		t.Error("a router user that does not exist was trusted")
	}
}

// BenchmarkDial measures what the checks add to a connection: a dev socket
// (directory walk and peer credentials) against the same socket given
// explicitly under another name (peer credentials only).
func BenchmarkDial(b *testing.B) {
	base := b.TempDir()
	tmp := filepath.Join(base, "tmp")
	os.Mkdir(tmp, 0o700)
	os.Chmod(tmp, 0o777|os.ModeSticky)
	b.Setenv("TMPDIR", tmp)
	b.Setenv("XDG_RUNTIME_DIR", "")
	dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(os.Geteuid()))
	os.Mkdir(dir, 0o700)
	sock := filepath.Join(dir, "router.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	link := filepath.Join(base, "given.sock")
	os.Symlink(sock, link)
	for _, s := range []struct{ name, path string }{{"dev", sock}, {"given", link}, {"unchecked", ""}} {
		b.Run(s.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if s.path == "" {
					c, err := net.Dial("unix", sock)
					if err != nil {
						b.Fatal(err)
					}
					New(c).Close()
					continue
				}
				c, err := Dial(context.Background(), s.path)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// ownListener listens at sock as this process.
func ownListener(t *testing.T, sock string) *net.UnixListener {
	t.Helper()
	l, err := net.Listen("unix", sock)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	return l.(*net.UnixListener)
}

// drain accepts every connection already queued on l without waiting,
// reads what each received (its client has gone), and returns the count
// of connections and bytes. No goroutine accepts early, so a connection
// cannot be missed: it waits in the backlog until drain takes it.
func drain(l *net.UnixListener) (conns, bytes int, err error) {
	rc, err := l.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	cerr := rc.Control(func(fd uintptr) {
		for {
			nfd, _, aerr := unix.Accept(int(fd))
			if aerr != nil {
				if !errors.Is(aerr, unix.EAGAIN) {
					err = aerr
				}
				return
			}
			conns++
			bytes += readAll(nfd)
			unix.Close(nfd)
		}
	})
	if err == nil {
		err = cerr
	}
	return conns, bytes, err
}

// readAll reads a connection whose peer has closed until EOF.
func readAll(fd int) int {
	unix.SetNonblock(fd, false)
	n := 0
	buf := make([]byte, 4096)
	for {
		k, err := unix.Read(fd, buf)
		if k <= 0 || err != nil {
			return n
		}
		n += k
	}
}

// attempt is what the victim's client did: dial and, if that worked,
// authenticate with a token, as `carapace exec --token` does first.
type attempt struct {
	Connected bool   `json:"connected"`
	Reason    string `json:"reason"`
	Error     string `json:"error"`
	Hint      string `json:"hint"`
}

func tryDial(explicit string) attempt {
	c, err := Dial(context.Background(), Socket(explicit))
	if err != nil {
		return attempt{Reason: string(errs.ReasonOf(err)), Error: err.Error(), Hint: errs.HintOf(err)}
	}
	// Only a client that trusted an impostor gets here: send it the token
	// and give up on an answer that never comes.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.Call(ctx, "auth", map[string]string{"token": "victims-secret-token"}, nil)
	c.Close()
	return attempt{Connected: true}
}

// TestDialRefusesUnsafeRuntimeDir: a dev socket whose directory is not
// private is refused before it is dialled, with a reason naming the check.
// The listener here is our own, so only the directory checks can refuse.
func TestDialRefusesUnsafeRuntimeDir(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		prep         func(t *testing.T, dir string) (listenAt string)
	}{
		{"mode 0755", "runtime_dir_open", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(dir, 0o755))
			must(t, os.Chmod(dir, 0o755))
			return dir
		}},
		{"mode 0770", "runtime_dir_open", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chmod(dir, 0o770))
			return dir
		}},
		{"mode 0711", "runtime_dir_open", func(t *testing.T, dir string) string {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.Chmod(dir, 0o711))
			return dir
		}},
		{"symlink to a private dir", "runtime_dir_symlink", func(t *testing.T, dir string) string {
			real := filepath.Join(filepath.Dir(filepath.Dir(dir)), "elsewhere")
			must(t, os.Mkdir(real, 0o700))
			must(t, os.Symlink(real, dir))
			return real
		}},
		{"open parent", "runtime_dir_parent", func(t *testing.T, dir string) string {
			must(t, os.Chmod(filepath.Dir(dir), 0o777)) // no sticky bit
			must(t, os.Mkdir(dir, 0o700))
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tmp := fakeTmp(t)
			dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(os.Geteuid()))
			l := ownListener(t, filepath.Join(tc.prep(t, dir), "router.sock"))
			got := tryDial("")
			conns, n, err := drain(l)
			must(t, err)
			if got.Connected || got.Reason != tc.reason || conns != 0 {
				t.Fatalf("dial: %+v, %d connections, %d bytes; want reason %s and no connection", got, conns, n, tc.reason)
			}
			if !strings.Contains(got.Hint, tmp) { // the dir, or the parent at fault
				t.Errorf("hint does not name the directory: %s", got.Hint)
			}
		})
	}
}

// TestDialPrivateRuntimeDir: the checks pass for a private directory
// served by the caller, and Server reports who that was.
func TestDialPrivateRuntimeDir(t *testing.T) {
	_, tmp := fakeTmp(t)
	dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(os.Geteuid()))
	must(t, os.Mkdir(dir, 0o700))
	l := ownListener(t, filepath.Join(dir, "router.sock"))
	go func() {
		if c, err := l.Accept(); err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	c, err := Dial(context.Background(), Socket(""))
	must(t, err)
	defer c.Close()
	if cr, ok := c.Server(); !ok || cr.UID != os.Geteuid() || cr.PID != os.Getpid() {
		t.Fatalf("Server() = %+v, %v", cr, ok)
	}
}

// TestDialRefusesConfinedServer: in dev mode a sandboxed command runs as
// the owner's uid; if it could listen at the router's path (its sandbox
// should keep it out of the runtime dir), the owner's client must still
// see it is not the router: it runs with no-new-privileges and the client
// does not.
func TestDialRefusesConfinedServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux reports whether a peer is confined")
	}
	if peer.SelfConfined() {
		t.Skip("this test runs confined itself (seccomp or no-new-privileges), as a container's processes do")
	}
	_, tmp := fakeTmp(t)
	dir := filepath.Join(tmp, "carapace-"+strconv.Itoa(os.Geteuid()))
	must(t, os.Mkdir(dir, 0o700))
	lis := startListener(t, os.Args[0], filepath.Join(dir, "router.sock"), nil, "HELPER_NNP=1")
	got := tryDial("")
	conns, n := lis.finish(t)
	if got.Connected || n != 0 || got.Reason != "confined_router" || conns != 1 {
		t.Fatalf("dial: %+v; listener: %d connections, %d bytes; want confined_router and no byte", got, conns, n)
	}
}

// TestImpostorRefused is the planted-socket attack with two real users:
// an attacker plants a listener that records what it receives; the
// victim's client, run as the victim, must refuse it before sending a
// byte, and say which check failed.
func TestImpostorRefused(t *testing.T) {
	attacker, victim := testUser(t, "carapace-attacker"), testUser(t, "carapace-victim")
	bin := shareBinary(t)
	victimDir := func(tmp string) string { return filepath.Join(tmp, "carapace-"+strconv.Itoa(int(victim.Uid))) }
	for _, tc := range []struct {
		name   string
		reason string
		conns  int // connections the listener may see (never a byte)
		// prep returns where the listener listens, who runs it and the
		// victim's --socket.
		prep func(t *testing.T, base, tmp string) (sock string, as *syscall.Credential, explicit string)
	}{
		{"planted dev dir", "runtime_dir_foreign", 0, func(t *testing.T, base, tmp string) (string, *syscall.Credential, string) {
			return filepath.Join(victimDir(tmp), "router.sock"), attacker, ""
		}},
		{"planted in the victim's open dir", "runtime_dir_open", 0, func(t *testing.T, base, tmp string) (string, *syscall.Credential, string) {
			d := victimDir(tmp)
			must(t, os.Mkdir(d, 0o700))
			must(t, os.Chown(d, int(victim.Uid), int(victim.Gid)))
			must(t, os.Chmod(d, 0o777))
			return filepath.Join(d, "router.sock"), attacker, ""
		}},
		{"explicit socket of another user", "untrusted_router", 1, func(t *testing.T, base, tmp string) (string, *syscall.Credential, string) {
			s := filepath.Join(tmp, "attacker", "router.sock")
			return s, attacker, s
		}},
		{"root in the victim's private dir", "untrusted_router", 1, func(t *testing.T, base, tmp string) (string, *syscall.Credential, string) {
			d := victimDir(tmp)
			must(t, os.Mkdir(d, 0o700))
			must(t, os.Chown(d, int(victim.Uid), int(victim.Gid)))
			return filepath.Join(d, "router.sock"), nil, ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, tmp := fakeTmp(t)
			sock, as, explicit := tc.prep(t, base, tmp)
			lis := startListener(t, bin, sock, as)
			got := runVictim(t, bin, victim, tmp, explicit)
			conns, n := lis.finish(t)
			t.Logf("victim: %+v; listener: %d connections, %d bytes", got, conns, n)
			if got.Connected || n != 0 {
				t.Fatalf("the victim talked to the impostor: %+v, %d bytes received", got, n)
			}
			if got.Reason != tc.reason || conns != tc.conns {
				t.Fatalf("refused with %q after %d connections, want %q after %d", got.Reason, conns, tc.reason, tc.conns)
			}
			if !strings.Contains(got.Hint, "impersonating") {
				t.Errorf("hint does not warn of an impostor: %s", got.Hint)
			}
		})
	}
}

// testUser creates (once) a system user with no home and no shell.
func testUser(t *testing.T, name string) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create the attacker's and the victim's users (useradd)")
	}
	if _, err := user.Lookup(name); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Skipf("useradd %s: %v: %s", name, err, out)
		}
	}
	u, err := user.Lookup(name)
	must(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// shareBinary copies the test binary where every user may run it.
func shareBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "carapace-client-bin-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "client.test")
	b, err := os.ReadFile(os.Args[0])
	must(t, err)
	must(t, os.WriteFile(bin, b, 0o755))
	return bin
}

// listener is a planted listener in its own process.
type listener struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startListener(t *testing.T, bin, sock string, as *syscall.Credential, env ...string) *listener {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{helperEnv + "=listen", "HELPER_SOCKET=" + sock}, env...)
	if as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	must(t, err)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	l := &listener{cmd: cmd, stdin: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	if line, err := l.out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("listener: %q %v", line, err)
	}
	return l
}

// finish stops the listener and returns what it received.
func (l *listener) finish(t *testing.T) (conns, bytes int) {
	t.Helper()
	l.stdin.Close()
	line, err := l.out.ReadString('\n')
	if _, serr := fmt.Sscanf(line, "conns=%d bytes=%d", &conns, &bytes); serr != nil {
		t.Fatalf("listener said %q: %v", line, err)
	}
	return conns, bytes
}

// listenHelper plants a listener the way an attacker would: its own
// directory (made world-searchable) if there is none, a socket anyone may
// connect to; then, when stdin closes, it counts what arrived.
func listenHelper() {
	sock := os.Getenv("HELPER_SOCKET")
	dir := filepath.Dir(sock)
	if _, err := os.Lstat(dir); err != nil {
		check(os.Mkdir(dir, 0o755))
		check(os.Chmod(dir, 0o755))
	}
	if os.Getenv("HELPER_NNP") == "1" { // as a sandboxed command is
		// prctl sets one thread's flag; the process's status shows its
		// first thread's. Set it, then exec: every thread of the new
		// image has it.
		check(noNewPrivs())
		check(os.Setenv("HELPER_NNP", "2"))
		check(syscall.Exec(os.Args[0], os.Args, os.Environ()))
	}
	l, err := net.Listen("unix", sock)
	check(err)
	check(os.Chmod(sock, 0o777))
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	conns, n, err := drain(l.(*net.UnixListener))
	check(err)
	fmt.Printf("conns=%d bytes=%d\n", conns, n)
}

// runVictim runs the victim's client as victim, with tmp as its TMPDIR.
func runVictim(t *testing.T, bin string, victim *syscall.Credential, tmp, explicit string) attempt {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{helperEnv + "=dial", "HELPER_EXPLICIT=" + explicit, "HELPER_INSTALLED=" + installed, "TMPDIR=" + tmp, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: victim}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	must(t, err)
	var a attempt
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("victim said %q: %v", out, err)
	}
	return a
}

func dialHelper() {
	installed = os.Getenv("HELPER_INSTALLED")
	json.NewEncoder(os.Stdout).Encode(tryDial(os.Getenv("HELPER_EXPLICIT")))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAsOrdinaryUser runs the tests that need no second user again as an
// ordinary user the test creates, when it runs as root.
func TestAsOrdinaryUser(t *testing.T) {
	if os.Getenv(innerEnv) != "" {
		t.Skip("already running as the created user")
	}
	u := testUser(t, "carapace-victim")
	bin := shareBinary(t)
	cmd := exec.Command(bin, "-test.v", "-test.count=1", "-test.run=^Test(SocketOrder|TrustedServers|DialRefusesUnsafeRuntimeDir|DialPrivateRuntimeDir|DialRefusesConfinedServer)$")
	cmd.Env = []string{innerEnv + "=1", "TMPDIR=/tmp", "HOME=/tmp", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u}
	out, err := cmd.CombinedOutput()
	t.Logf("as carapace-victim (uid %d):\n%s", u.Uid, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDialRefusesUnsafeRuntimeDir") {
		t.Fatalf("as an ordinary user: %v", err)
	}
}

// innerEnv marks the run TestAsOrdinaryUser starts.
const innerEnv = "CARAPACE_CLIENT_TEST_INNER"
