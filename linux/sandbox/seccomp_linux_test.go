//go:build linux

package sandbox

import (
	"slices"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestDeniedNamesExist keeps the deny list free of typos: a name the
// syscall table lacks would be dropped silently by policy.
func TestDeniedNamesExist(t *testing.T) {
	absent := map[string][]string{
		"x86_64":  nil,
		"aarch64": {"_sysctl", "ioperm", "iopl", "uselib"},
	}
	for _, a := range []*arch.Info{arch.X86_64, arch.AARCH64} {
		var missing []string
		for _, n := range append(deniedSyscalls, "clone", "clone3", "socket", "personality", "execve", "execveat") {
			if _, ok := a.SyscallNames[n]; !ok {
				missing = append(missing, n)
			}
		}
		slices.Sort(missing)
		if !slices.Equal(missing, absent[a.Name]) {
			t.Errorf("%s lacks %v, want only %v", a.Name, missing, absent[a.Name])
		}
	}
}

// bpfRun returns a function that runs o's program on a fake seccomp_data:
// the architecture, the call number and its first two arguments.
func bpfRun(t *testing.T, o filterOptions) func(auditArch, nr uint32, arg0, arg1 uint64) uint32 {
	vm, err := bpf.NewVM(disassemble(t, filterRaw(t, o)))
	must(t, err)
	return func(auditArch, nr uint32, arg0, arg1 uint64) uint32 {
		// struct seccomp_data: nr, arch, instruction_pointer, args[6].
		// The kernel hands the filter native-endian 32-bit words; x/net's
		// VM loads big-endian, so each word is stored big-endian at the
		// offset a little-endian kernel uses (low half of an arg first).
		data := make([]byte, 64)
		word := func(off int, v uint32) {
			data[off], data[off+1], data[off+2], data[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		}
		word(0, nr)
		word(4, auditArch)
		word(16, uint32(arg0))
		word(20, uint32(arg0>>32))
		word(24, uint32(arg1))
		word(28, uint32(arg1>>32))
		out, err := vm.Run(data)
		must(t, err)
		return uint32(out)
	}
}

// TestForeignArchIsKilled checks the guard in front of go-seccomp-bpf's
// program by running the BPF on a fake seccomp_data of another
// architecture (i386 socket through int 0x80).
func TestForeignArchIsKilled(t *testing.T) {
	run := bpfRun(t, filterOptions{unix: true})
	native, _ := arch.GetInfo("")
	if got := run(0x40000003, 359, unix.AF_INET, 0); got != unix.SECCOMP_RET_KILL_PROCESS { // AUDIT_ARCH_I386, socket
		t.Errorf("i386 socket: action %#x, want kill", got)
	}
	if got := run(0x40000003, 102, 1, 0); got != unix.SECCOMP_RET_KILL_PROCESS { // i386 socketcall(SYS_SOCKET, …)
		t.Errorf("i386 socketcall: action %#x, want kill", got)
	}
	sock := uint32(native.SyscallNames["socket"])
	if got := run(uint32(native.ID), sock, unix.AF_INET, 0); got != unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM) {
		t.Errorf("native socket(AF_INET): action %#x, want EPERM", got)
	}
	if got := run(uint32(native.ID), sock, unix.AF_UNIX, 0); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("native socket(AF_UNIX): action %#x, want allow", got)
	}
	if got := run(uint32(native.ID), sock, 1<<32|unix.AF_UNIX, 0); got == unix.SECCOMP_RET_ALLOW {
		t.Errorf("socket with garbage in the upper half of the family was allowed")
	}
}

// TestUnixSocketRules checks, in every filter variant, which sockets a
// process may make: without the unix option (a command where Landlock
// cannot scope pathname-socket connects) no socket(AF_UNIX), however the
// family is spelled, and no datagram socketpair, which could sendto(2) a
// named socket; stream and seqpacket pairs stay.
func TestUnixSocketRules(t *testing.T) {
	native, _ := arch.GetInfo("")
	sock, pair := uint32(native.SyscallNames["socket"]), uint32(native.SyscallNames["socketpair"])
	const allow, eperm = unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	for _, o := range filterVariants() {
		run := bpfRun(t, o)
		call := func(nr uint32, arg0, arg1 uint64) uint32 { return run(uint32(native.ID), nr, arg0, arg1) }
		want := func(ok bool) uint32 {
			if ok {
				return allow
			}
			return eperm
		}
		for _, c := range []struct {
			what string
			got  uint32
			want uint32
		}{
			{"socket(AF_UNIX)", call(sock, unix.AF_UNIX, unix.SOCK_STREAM), want(o.unix)},
			{"socket(AF_UNIX|1<<32)", call(sock, 1<<32|unix.AF_UNIX, unix.SOCK_STREAM), want(o.unix && o.network)},
			{"socket(AF_INET)", call(sock, unix.AF_INET, unix.SOCK_STREAM), want(o.network)},
			{"socketpair(SOCK_STREAM|SOCK_CLOEXEC)", call(pair, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC), allow},
			{"socketpair(SOCK_SEQPACKET)", call(pair, unix.AF_UNIX, unix.SOCK_SEQPACKET), allow},
			{"socketpair(SOCK_DGRAM)", call(pair, unix.AF_UNIX, unix.SOCK_DGRAM), want(o.unix)},
			{"socketpair(SOCK_RAW)", call(pair, unix.AF_UNIX, unix.SOCK_RAW), want(o.unix)},
		} {
			if c.got != c.want {
				t.Errorf("%+v: %s: action %#x, want %#x", o, c.what, c.got, c.want)
			}
		}
	}
}

func disassemble(t *testing.T, raw []bpf.RawInstruction) []bpf.Instruction {
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("cannot disassemble the filter")
	}
	return insts
}
