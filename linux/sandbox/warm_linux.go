//go:build linux

package sandbox

import (
	"encoding/binary"
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
// itself instead of re-executing a second stage; an IPC namespace of its
// own too where the service may make one (ipc_linux.go).
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
			sys.Cloneflags |= ipcCloneflag()
			return sys
		},
		Fallback: func() *syscall.SysProcAttr {
			sys := &syscall.SysProcAttr{}
			namespaceAttr(sys)
			sys.Cloneflags |= ipcCloneflag()
			return sys
		},
	}, nil
}

// warmMain is "sandbox-exec --warm": it does what does not depend on the
// command (warmUp), says it is ready, then runs the requests that come on
// its control socket, one at a time. After each it reports the exit code
// and, when it may serve another command of the same kind
// (reuse_linux.go), waits for the next; otherwise it exits.
func warmMain() int {
	ctl := controlSocket() // first, before anything opens a descriptor
	if ctl == nil {
		return fail("started --warm without a control socket on descriptor 3")
	}
	s, err := newSupervisor()
	if err != nil {
		return fail("%v", err)
	}
	s.ownMounts, s.ppid = ownMountNamespace()
	s.egress = egressSocket()
	s.ownNet = ownNetNamespace(s.ppid)
	s.ownIPC = ownIPCNamespace(s.ppid)
	if s.ownNet && s.egress >= 0 && !requestWaiting() {
		s.forwarder, _ = listenForwarder() // nil on error: opened per request
	}
	if s.ownMounts {
		s.terminals = mountPrivateTerminals() == nil // else no terminal at all
	}
	warmUp(s.terminals, s.forwarder != nil)
	s.before = schedulingOf()
	if _, err := ctl.Write([]byte{readyByte}); err != nil {
		return exitUsage // the service went away
	}
	var kind string
	for uses := 1; ; uses++ {
		inv, code := s.next(ctl)
		if code == exitUsage {
			return code // the service closed the socket: no request
		}
		if code == 0 {
			key, ok := inv.spec.ReuseKey()
			switch {
			case uses == 1:
				kind = key
			case !ok || key != kind:
				code = fail("a reused helper got a command of another kind")
			}
		}
		if code == 0 {
			code = s.run(inv)
		}
		again := code != exitConfine && uses < maxUses && s.reusable(inv) && s.reset() == nil
		s.report(ctl, code, again)
		if !again {
			return code
		}
		// Nothing of the request stays while the helper waits: not its
		// environment (secrets among it), not its directory (a mount
		// the helper would keep busy).
		os.Clearenv()
		os.Chdir("/")
	}
}

// next waits for the next request on ctl, with its stdio, and returns
// the invocation to supervise. A signal while it waits ends the helper
// (it has no child then), as the socket closing without a request does
// (exitUsage). Its watcher is gone before next returns: from then on the
// command's forwarder alone takes the signals (forward).
func (s *supervisor) next(ctl *os.File) (invocation, int) {
	idle, watched := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case sig := <-s.sigs:
			os.Exit(128 + int(sig.(unix.Signal)))
		case <-idle:
			close(watched)
		}
	}()
	inv, code := readRequest(ctl)
	close(idle)
	<-watched
	return inv, code
}

// controlSocket returns descriptor 3 when it is a Unix stream socket, as
// the code service passes it (core/codeexec), else nil; made pollable:
// the helper waits for its requests with its goroutine parked.
func controlSocket() *os.File {
	if typ, err := unix.GetsockoptInt(ctlFD, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
		return nil
	}
	if dom, err := unix.GetsockoptInt(ctlFD, unix.SOL_SOCKET, unix.SO_DOMAIN); err != nil || dom != unix.AF_UNIX {
		return nil
	}
	unix.CloseOnExec(ctlFD)
	return pollable(ctlFD, "sandbox-control")
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

// readRequest reads one request from ctl (a core/sandbox.Request after
// its length, 4 bytes big-endian; sent with the length, the command's
// stdout, stderr and, when it has one, stdin: SCM_RIGHTS), puts those on
// descriptors 1, 2 and 0 (/dev/null on 0 without stdin), takes the
// request's working directory and environment, and returns the
// invocation to supervise. The socket closing before a request ends it
// with exitUsage.
func readRequest(ctl *os.File) (invocation, int) {
	size, fds, err := recvHeader(ctl)
	if err == io.EOF {
		return invocation{}, exitUsage // the service went away or shut down
	}
	if err == nil {
		err = takeStdio(fds)
	}
	if err != nil {
		return invocation{}, fail("read the request: %v", err)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(ctl, b); err != nil {
		return invocation{}, fail("read the request: %v", err)
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
	return inv, 0
}

// recvHeader reads a request's length and the descriptors sent with it,
// received close-on-exec: only what takeStdio puts on 0, 1 and 2 reaches
// the command.
func recvHeader(ctl *os.File) (int, []int, error) {
	rc, err := ctl.SyscallConn()
	if err != nil {
		return 0, nil, err
	}
	var hdr [4]byte
	var fds []int
	for got := 0; got < len(hdr); {
		oob := make([]byte, unix.CmsgSpace(3*4))
		var n, oobn int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, oobn, _, _, rerr = unix.Recvmsg(int(fd), hdr[got:], oob, unix.MSG_CMSG_CLOEXEC)
			return rerr != unix.EAGAIN
		}); err != nil {
			return 0, nil, err
		}
		more, err := unixRights(oob[:oobn])
		fds = append(fds, more...)
		switch {
		case err == nil && rerr != nil:
			err = rerr
		case err == nil && n == 0 && got == 0:
			err = io.EOF
		case err == nil && n == 0:
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			closeAll(fds)
			return 0, nil, err
		}
		got += n
	}
	size := int(binary.BigEndian.Uint32(hdr[:]))
	if size > maxRequestSize {
		closeAll(fds)
		return 0, nil, fmt.Errorf("a request of %d bytes", size)
	}
	return size, fds, nil
}

// maxRequestSize bounds a request (core/sandbox.DecodeRequest's own
// bound is lower).
const maxRequestSize = 16 << 20

// unixRights returns the descriptors in a control message.
func unixRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for _, m := range msgs {
		got, err := unix.ParseUnixRights(&m)
		if err != nil {
			return fds, err
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// takeStdio puts fds — stdout, stderr and, when there are three, stdin —
// on descriptors 1, 2 and 0 (/dev/null without stdin), and closes them.
func takeStdio(fds []int) error {
	defer closeAll(fds)
	if len(fds) != 2 && len(fds) != 3 {
		return fmt.Errorf("%d descriptors with the request, want 2 or 3", len(fds))
	}
	if err := unix.Dup3(fds[0], 1, 0); err != nil {
		return err
	}
	if err := unix.Dup3(fds[1], 2, 0); err != nil {
		return err
	}
	if len(fds) == 3 {
		return unix.Dup3(fds[2], 0, 0)
	}
	return stdinFromNull()
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
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
