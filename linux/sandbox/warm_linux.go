//go:build linux

package sandbox

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/gimme-tools/carapace/core/sandbox"
	"golang.org/x/sys/unix"
)

// warmStart implements sandbox.Warm: the helper, and a mount namespace of
// its own to start it in (with a user namespace mapping the service's
// uid and gid to themselves when not root), so that it can protect .git
// itself instead of re-executing a second stage.
func warmHelper() (sandbox.WarmStart, error) {
	exe, err := helperPath()
	if err != nil {
		return sandbox.WarmStart{}, err
	}
	return sandbox.WarmStart{
		Argv: []string{exe, "sandbox-exec", "--warm"},
		Attr: func() *syscall.SysProcAttr {
			sys := &syscall.SysProcAttr{}
			namespaceAttr(sys)
			// A network namespace of its own, holding only loopback: a
			// command's one way out is the proxy (egress_linux.go).
			// CAP_NET_ADMIN in its user namespace brings loopback up; the
			// command's thread drops every capability before exec.
			sys.Cloneflags |= unix.CLONE_NEWNET
			if sys.AmbientCaps != nil {
				sys.AmbientCaps = append(sys.AmbientCaps, unix.CAP_NET_ADMIN)
			}
			return sys
		},
		Fallback: func() *syscall.SysProcAttr {
			sys := &syscall.SysProcAttr{}
			namespaceAttr(sys)
			return sys
		},
	}, nil
}

// warmMain is "sandbox-exec --warm": it does what does not depend on the
// command (warmUp), then waits for the request and runs it.
func warmMain() int {
	status := statusPipe() // first, before anything opens a descriptor
	s, err := newSupervisor()
	if err != nil {
		return fail("%v", err)
	}
	s.status = status
	s.ownMounts, s.ppid = ownMountNamespace()
	s.egress = egressSocket()
	s.ownNet = ownNetNamespace(s.ppid)
	if s.ownNet && s.egress >= 0 && !requestWaiting() {
		s.forwarder, _ = listenForwarder() // nil on error: opened per request
	}
	if s.ownMounts {
		s.terminals = mountPrivateTerminals() == nil // else no terminal at all
	}
	warmUp(s.terminals, s.forwarder != nil)
	inv, code := readRequest()
	if code == 0 {
		code = s.run(inv)
	}
	s.report(code)
	return code
}

// statusPipe returns descriptor 4 when it is the write end of a pipe, as
// the code service passes it (core/codeexec), else nil: a helper started
// without one must not write into whatever else has that number.
func statusPipe() *os.File {
	var st unix.Stat_t
	if unix.Fstat(4, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	if fl, err := unix.FcntlInt(4, unix.F_GETFL, 0); err != nil || fl&unix.O_ACCMODE != unix.O_WRONLY {
		return nil
	}
	unix.CloseOnExec(4)
	return os.NewFile(4, "sandbox-status")
}

// warmUp does ahead of the request the work every command needs: the
// kernel's Landlock ABI and last capability, whether the helper runs in
// a service's pids cgroup and, unless the request is already waiting, the
// shared Landlock rules (prepared_linux.go; with the terminal devices
// when the helper mounted a private devpts; a second set for a command
// with network where the helper can run one) and a first decode.
func warmUp(terminals, network bool) {
	landlockABI()
	lastCap()
	helperInServiceCgroup()
	if requestWaiting() {
		return
	}
	if abi := landlockABI(); abi >= 1 {
		prepared, _ = prepareRuleset(sharedRules(terminals), abi, true) // nil on error: built per request
		if network {
			preparedNet, _ = prepareRuleset(sharedRules(terminals), abi, false)
		}
	}
}

// requestWaiting reports whether the request is already there to read: a
// helper started on the spot for a waiting command (a burst larger than
// the pool) would only spend CPU time priming what it is about to run.
func requestWaiting() bool {
	fds := []unix.PollFd{{Fd: 3, Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// ownMountNamespace reports whether this process has a mount namespace
// other than its parent's and, if so, cuts mount propagation from it
// back out (every mount becomes a slave). Only then may the helper mount
// anything itself: in its parent's namespace a mount would change the
// service's view, or as root the whole machine's. It also returns the
// parent checked against; a helper whose parent changed (reparented)
// does not trust the answer.
//
// Root (or anyone in its parent's user namespace) compares the two
// namespaces. From a user namespace of its own the parent's links cannot
// be read (the kernel refuses them across user namespaces); there the
// helper's mount namespace must belong to its own user namespace, which
// a mount namespace it shared with its parent never does.
func ownMountNamespace() (bool, int) {
	ppid := os.Getppid()
	self, err := nsID("/proc/self/ns/mnt")
	if err != nil {
		return false, ppid
	}
	parent, err := nsID("/proc/" + strconv.Itoa(ppid) + "/ns/mnt")
	switch {
	case err == nil && parent == self:
		return false, ppid
	case err == nil: // another mount namespace than the parent's
	case !ownsMountNamespace():
		return false, ppid
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return false, ppid
	}
	return true, ppid
}

// nsGetUserns is NS_GET_USERNS (linux/nsfs.h): the user namespace that
// owns a namespace.
const nsGetUserns = 0xb701

// ownsMountNamespace reports whether this process runs in a user
// namespace other than the initial one that owns its mount namespace: a
// user and a mount namespace made together for it.
func ownsMountNamespace() bool { return ownsNamespace("/proc/self/ns/mnt") }

// nsID identifies the namespace a /proc/*/ns link names.
func nsID(link string) ([2]uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return [2]uint64{}, err
	}
	return [2]uint64{st.Dev, st.Ino}, nil
}

// readRequest is the waiting half of "sandbox-exec --warm": it blocks until one sandbox.Request
// arrives on descriptor 3 (the pipe closing without one ends it with
// exitUsage), takes the request's working directory, environment and
// stdin, and returns the invocation to supervise.
func readRequest() (invocation, int) {
	ctl := pollable(3, "sandbox-request") // see idle_linux.go
	if ctl == nil {
		return invocation{}, fail("started --warm without a request pipe")
	}
	b, err := io.ReadAll(io.LimitReader(ctl, 8<<20))
	ctl.Close()
	if err != nil || len(b) == 0 {
		return invocation{}, exitUsage // the service went away or shut down
	}
	req, err := sandbox.DecodeRequest(b)
	if err != nil {
		return invocation{}, fail("%v", err)
	}
	inv, err := parseArgs(req.Args)
	if err != nil || inv.stage2 {
		return invocation{}, fail("bad request: %v", err)
	}
	if err := os.Chdir(req.Dir); err != nil {
		return invocation{}, fail("%v", err)
	}
	os.Clearenv()
	for _, kv := range req.Env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	if !req.Stdin {
		if err := stdinFromNull(); err != nil {
			return invocation{}, fail("%v", err)
		}
	}
	return inv, 0
}

// stdinFromNull puts /dev/null on descriptor 0.
func stdinFromNull() error {
	null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null: %w", err)
	}
	defer unix.Close(null)
	return unix.Dup3(null, 0, 0)
}
