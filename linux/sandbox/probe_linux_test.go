//go:build linux

package sandbox

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// probe runs one escape attempt inside the sandbox and prints one line:
// "ok …" when the attempt worked, "denied <errno name>" when it did not.
// Its exit status is 0 either way; the test reads the line.
//
// "probe each NAME ARGS / NAME ARGS / …" runs several, one line each.
func probe(args []string) int {
	if len(args) > 0 && args[0] == "each" {
		rest := args[1:]
		for len(rest) > 0 {
			i := slices.Index(rest, "/")
			if i < 0 {
				i = len(rest)
			}
			probe(rest[:i])
			rest = rest[min(i+1, len(rest)):]
		}
		return 0
	}
	if len(args) == 0 {
		say("usage: probe NAME ARGS")
		return 2
	}
	report := func(err error) {
		if err == nil {
			say("ok")
			return
		}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			say("denied %s", unix.ErrnoName(errno))
			return
		}
		say("denied %v", err)
	}
	switch name, a := args[0], args[1:]; name {
	case "write":
		report(os.WriteFile(a[0], []byte("x"), 0o644))
	case "read":
		_, err := os.ReadFile(a[0])
		report(err)
	case "rename":
		report(os.Rename(a[0], a[1]))
	case "remove":
		report(os.Remove(a[0]))
	case "tcp":
		c, err := net.Dial("tcp", a[0])
		if err == nil {
			c.Close()
		}
		report(err)
	case "dial": // dial NET ADDR PORT: tcp4, tcp6, udp4, mptcp, raw system calls
		report(rawDial(a[0], a[1], a[2]))
	case "sockets": // the socket descriptors this process holds
		n := 0
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.HasPrefix(l, "socket:") {
				n++
			}
		}
		say("sockets %d", n)
	case "resolve":
		_, err := net.LookupHost(a[0])
		report(err)
	case "socket-inet":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		report(err)
	case "socket-inet6-udp":
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		report(err)
	case "unix":
		report(unixRoundTrip(a[0]))
	case "ptrace":
		pid, _ := strconv.Atoi(a[0])
		report(unix.PtraceAttach(pid))
	case "kill":
		pid, _ := strconv.Atoi(a[0])
		report(unix.Kill(pid, 0))
	case "unshare":
		report(unix.Unshare(unix.CLONE_NEWUSER))
	case "open": // a device or file, read-write, never as a controlling terminal
		fd, err := unix.Open(a[0], unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		report(err)
	case "ls":
		_, err := os.ReadDir(a[0])
		report(err)
	case "readlink":
		_, err := os.Readlink(a[0])
		report(err)
	case "pty":
		report(ptyRoundTrip())
	case "unixconnect":
		report(unixConnect(a[0]))
	case "dgram":
		report(dgramSend(a[0]))
	case "socketpair":
		report(socketpairRoundTrip())
	case "status":
		printStatus()
	case "parent":
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(os.Getppid()) + "/cmdline")
		say("%s", strings.ReplaceAll(string(b), "\x00", " "))
	case "mntns":
		ns, err := os.Readlink("/proc/self/ns/mnt")
		say("%s%v", ns, errOrEmpty(err))
	case "env":
		for _, kv := range os.Environ() {
			say("%s", kv)
		}
	case "spawn":
		n, _ := strconv.Atoi(a[0])
		say("started %d", spawn(n, a[1]))
	case "bigfile":
		f, err := os.Create(a[0])
		if err == nil {
			_, err = f.Write(make([]byte, 2<<20))
			f.Close()
		}
		report(err)
	default:
		say("unknown probe %s", name)
		return 2
	}
	return 0
}

// unixRoundTrip listens on a Unix socket at path and connects to it.
func unixRoundTrip(path string) error {
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	defer l.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	return c.Close()
}

// ptyRoundTrip makes a terminal through /dev/ptmx, opens its other end
// under /dev/pts and sends a line through it.
func ptyRoundTrip() error {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return err
	}
	slave, err := unix.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(slave)
	if _, err := unix.Write(master, []byte("hi\n")); err != nil {
		return err
	}
	buf := make([]byte, 16)
	if _, err := unix.Read(slave, buf); err != nil {
		return err
	}
	return nil
}

// unixConnect connects to the stream socket at path and reads its
// greeting.
func unixConnect(path string) error {
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Read(make([]byte, 16))
	return err
}

// dgramSend sends a datagram to the socket at path from one end of a
// socketpair: a pair needs no socket(2), and a datagram one can still
// name another socket.
func dgramSend(path string) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	return unix.Sendto(fds[0], []byte("hello"), 0, &unix.SockaddrUnix{Name: path})
}

// socketpairRoundTrip sends a byte through a stream socketpair.
func socketpairRoundTrip() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if _, err := unix.Write(fds[0], []byte{1}); err != nil {
		return err
	}
	_, err = unix.Read(fds[1], make([]byte, 1))
	return err
}

func printStatus() {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		say("denied %v", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "NoNewPrivs:") || strings.HasPrefix(line, "Seccomp:") || strings.HasPrefix(line, "CapEff:") || strings.HasPrefix(line, "CapPrm:") {
			say("%s", strings.Join(strings.Fields(line), " "))
		}
	}
}

// spawn starts up to n sleeping children and returns how many started.
func spawn(n int, secs string) int {
	started := 0
	for i := 0; i < n; i++ {
		cmd := exec.Command("sleep", secs)
		if err := cmd.Start(); err != nil {
			say("spawn stopped: %v", err)
			break
		}
		started++
	}
	return started
}

func errOrEmpty(err error) string {
	if err != nil {
		return " " + err.Error()
	}
	return ""
}

// expectConfined checks what a command shows on every path: the given
// /proc/self/status lines, no leaked variables (the service's
// SSH_AUTH_SOCK and GIMME_X, and the warm helper's own GOMAXPROCS=1 unless
// the test runs with one), and a fork bomb bounded and gone with its
// helper.
func expectConfined(t *testing.T, run func(probe ...string) string, status ...string) {
	t.Helper()
	st := run("status")
	for _, want := range status {
		if !strings.Contains(st, want) {
			t.Errorf("/proc/self/status lacks %q:\n%s", want, st)
		}
	}
	if env := run("env"); strings.Contains(env, "SSH_AUTH_SOCK") || strings.Contains(env, "GIMME_X") ||
		os.Getenv("GOMAXPROCS") == "" && strings.Contains(env, "GOMAXPROCS") {
		t.Errorf("environment leaks:\n%s", env)
	}
	defer waitReaped(procsOf(os.Getuid()))
	out := run("spawn", "500", bombSleep)
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(line, "started "); ok {
			if n, _ := strconv.Atoi(s); n == 0 || n >= 500 {
				t.Fatalf("fork bomb started %s processes:\n%s", s, out)
			}
		}
	}
	if n := countProcs("sleep\x00" + bombSleep + "\x00"); n != 0 {
		t.Fatalf("%d of the bomb's children outlived the helper", n)
	}
}

// bombSleep is how long a fork bomb's children sleep, in seconds: a
// thousand and a fraction that names this test process, so the count of
// survivors finds this run's alone (another test run on the machine has
// its own bombs).
var bombSleep = "1000." + strconv.Itoa(os.Getpid())

// warmRunner runs probes in b through pool's warm helpers, as the code
// service does: the request carries the spec, command, environment (with
// variables that must not get through) and directory.
func warmRunner(t *testing.T, b *box, pool *codeexec.Pool) func(probe ...string) string {
	return func(probe ...string) string {
		t.Helper()
		wrapped, err := wrap(b.spec, append([]string{b.bin, "probe"}, probe...))
		must(t, err)
		env := append(b.spec.Env(os.Environ(), nil), "SSH_AUTH_SOCK=/run/agent.sock", "GIMME_X=leak")
		req := sandbox.Request{Args: wrapped[2:], Env: env, Dir: b.project}
		res, err := codeexec.Run(context.Background(), codeexec.Command{Path: b.bin, Pool: pool, Request: req.Encode()})
		must(t, err)
		return strings.TrimSpace(res.Stdout + res.Stderr)
	}
}

// rawDial connects a socket of the kind named to addr:port with system
// calls, so no library falls back or retries (UDP: connect, then send).
func rawDial(kind, addr, port string) error {
	ip := net.ParseIP(addr)
	pn, _ := strconv.Atoi(port)
	family, typ, proto := unix.AF_INET, unix.SOCK_STREAM, 0
	switch kind {
	case "tcp6":
		family = unix.AF_INET6
	case "udp4":
		typ = unix.SOCK_DGRAM
	case "mptcp":
		proto = 262 // IPPROTO_MPTCP
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var sa unix.Sockaddr
	if family == unix.AF_INET6 {
		s6 := &unix.SockaddrInet6{Port: pn}
		copy(s6.Addr[:], ip.To16())
		sa = s6
	} else {
		s4 := &unix.SockaddrInet4{Port: pn}
		copy(s4.Addr[:], ip.To4())
		sa = s4
	}
	if err := unix.Connect(fd, sa); err != nil {
		return err
	}
	if typ == unix.SOCK_DGRAM {
		_, err = unix.Write(fd, []byte("\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"))
	}
	return err
}
