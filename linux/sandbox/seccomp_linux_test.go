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

// TestForeignArchIsKilled checks the guard in front of go-seccomp-bpf's
// program by running the BPF on a fake seccomp_data of another
// architecture (i386 socket through int 0x80).
func TestForeignArchIsKilled(t *testing.T) {
	vm, err := bpf.NewVM(disassemble(t, filterRaw(t, filterOptions{})))
	must(t, err)
	run := func(auditArch uint32, nr uint32, arg0 uint64) uint32 {
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
		out, err := vm.Run(data)
		must(t, err)
		return uint32(out)
	}
	native, _ := arch.GetInfo("")
	if got := run(0x40000003, 359, unix.AF_INET); got != unix.SECCOMP_RET_KILL_PROCESS { // AUDIT_ARCH_I386, socket
		t.Errorf("i386 socket: action %#x, want kill", got)
	}
	sock := uint32(native.SyscallNames["socket"])
	if got := run(uint32(native.ID), sock, unix.AF_INET); got != unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM) {
		t.Errorf("native socket(AF_INET): action %#x, want EPERM", got)
	}
	if got := run(uint32(native.ID), sock, unix.AF_UNIX); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("native socket(AF_UNIX): action %#x, want allow", got)
	}
	if got := run(uint32(native.ID), sock, 1<<32|unix.AF_UNIX); got == unix.SECCOMP_RET_ALLOW {
		t.Errorf("socket with garbage in the upper half of the family was allowed")
	}
}

func disassemble(t *testing.T, raw []bpf.RawInstruction) []bpf.Instruction {
	insts, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatal("cannot disassemble the filter")
	}
	return insts
}
