//go:build linux

package sandbox

import (
	"bufio"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// probe runs one escape attempt inside the sandbox and prints one line:
// "ok …" when the attempt worked, "denied <errno name>" when it did not.
// Its exit status is 0 either way; the test reads the line.
func probe(args []string) int {
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
		say("started %d", spawn(n))
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
func spawn(n int) int {
	started := 0
	for i := 0; i < n; i++ {
		cmd := exec.Command("sleep", "1000")
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
