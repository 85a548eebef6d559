//go:build linux

package sandbox

// The seccomp programs' source: the policy each filterOptions stands for,
// assembled with elastic/go-seccomp-bpf. TestFilterPrograms checks the
// generated seccomp_programs_linux_*.go against it;
//
//	go test ./linux/sandbox -run TestFilterPrograms -update-filters
//
// writes them again after a change here or to deniedSyscalls.

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

var updateFilters = flag.Bool("update-filters", false, "write seccomp_programs_linux_*.go from the policy")

// policy returns the seccomp policy for o on goarch.
// Names the architecture lacks (iopl on arm64, …) are left out.
func policy(o filterOptions, goarch string) (*seccomp.Policy, *arch.Info, error) {
	info, err := arch.GetInfo(goarch)
	if err != nil {
		return nil, nil, fmt.Errorf("seccomp: %w", err)
	}
	names := append([]string(nil), deniedSyscalls...)
	cloneRefused := uint64(cloneNamespaceFlags)
	if o.mountNS {
		names = slices.DeleteFunc(names, func(n string) bool { return n == "mount" })
		cloneRefused &^= unix.CLONE_NEWNS | unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWIPC
	}
	if !o.exec {
		names = append(names, "execve", "execveat")
	}
	var known []string
	for _, n := range names {
		if _, ok := info.SyscallNames[n]; ok {
			known = append(known, n)
		}
	}
	conds := []seccomp.NameWithConditions{
		{Name: "clone", Conditions: []seccomp.Condition{
			{Argument: 0, Operation: seccomp.BitsSet, Value: cloneRefused}}},
		// personality(2) may query (0xffffffff) or set the default
		// (PER_LINUX); anything else (ADDR_NO_RANDOMIZE, …) is refused.
		{Name: "personality", Conditions: []seccomp.Condition{
			{Argument: 0, Operation: seccomp.NotEqual, Value: 0},
			{Argument: 0, Operation: seccomp.NotEqual, Value: 0xffffffff}}},
	}
	switch {
	case !o.network && o.unix:
		conds = append(conds, seccomp.NameWithConditions{Name: "socket",
			Conditions: []seccomp.Condition{
				{Argument: 0, Operation: seccomp.NotEqual, Value: unix.AF_UNIX}}})
	case !o.network: // no socket at all
		known = append(known, "socket")
	case !o.unix:
		// The family is an int: a value with bits in the upper half
		// would pass an Equal test and still mean AF_UNIX to the kernel.
		conds = append(conds,
			seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{
				{Argument: 0, Operation: seccomp.Equal, Value: unix.AF_UNIX}}},
			seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{
				{Argument: 0, Operation: seccomp.GreaterThan, Value: 0xffffffff}}})
	}
	if !o.unix {
		// A datagram pair (SOCK_DGRAM, or SOCK_RAW, which AF_UNIX turns
		// into one) can be connected or sendto(2)'d to a named socket;
		// SOCK_STREAM (1) and SOCK_SEQPACKET (5) cannot be reconnected.
		conds = append(conds, seccomp.NameWithConditions{Name: "socketpair",
			Conditions: []seccomp.Condition{
				{Argument: 1, Operation: seccomp.BitsSet, Value: unix.SOCK_DGRAM}}})
	}
	p := &seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: known, NamesWithCondtions: conds, Action: seccomp.ActionErrno},
			// clone3 passes its flags in a struct seccomp cannot read: say
			// it does not exist, and libc falls back to clone, checked above.
			{Names: []string{"clone3"}, Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)},
		},
	}
	return p, info, nil
}

// assemble returns the BPF program for o on goarch. It puts its own architecture
// check in front of go-seccomp-bpf's: that library lets a system call of a
// foreign architecture through (its arch mismatch jumps to the default
// action, here "allow"), and on x86-64 with IA32 emulation a process could
// make every refused call through int 0x80. Foreign-arch calls are killed.
func assemble(o filterOptions, goarch string) ([]bpf.RawInstruction, error) {
	p, info, err := policy(o, goarch)
	if err != nil {
		return nil, err
	}
	body, err := p.Assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	prog := append([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 4}, // seccomp_data.arch
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(info.ID), SkipTrue: 1},
		bpf.RetConstant{Val: unix.SECCOMP_RET_KILL_PROCESS},
	}, body...)
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, fmt.Errorf("seccomp: %w", err)
	}
	return raw, nil
}

// filterVariants are every filterOptions, in filterIndex order.
func filterVariants() []filterOptions {
	var vs []filterOptions
	for i := 0; i < len(filterPrograms); i++ {
		vs = append(vs, filterOptions{network: i&1 != 0, exec: i&2 != 0, mountNS: i&4 != 0, unix: i&8 != 0})
	}
	return vs
}

// TestFilterPrograms checks that the generated programs are what the
// policy assembles to, for every variant and both architectures (arm64's
// is assembled here from the library's arm64 syscall table).
func TestFilterPrograms(t *testing.T) {
	for _, goarch := range []string{"amd64", "arm64"} {
		var progs [][]bpf.RawInstruction
		for i, o := range filterVariants() {
			if filterIndex(o) != i {
				t.Fatalf("filterIndex(%+v) = %d, want %d", o, filterIndex(o), i)
			}
			raw, err := assemble(o, goarch)
			must(t, err)
			progs = append(progs, raw)
		}
		file := "seccomp_programs_linux_" + goarch + ".go"
		want := programsFile(goarch, progs)
		if *updateFilters {
			must(t, os.WriteFile(file, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(file)
		must(t, err)
		if string(got) != want {
			t.Errorf("%s is not what the policy assembles to: run go test ./linux/sandbox -run TestFilterPrograms -update-filters", file)
		}
	}
}

// programsFile is the Go source of the generated programs for goarch.
func programsFile(goarch string, progs [][]bpf.RawInstruction) string {
	var b strings.Builder
	b.WriteString("// Code generated by \"go test ./linux/sandbox -run TestFilterPrograms -update-filters\"; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "//go:build linux && %s\n\npackage sandbox\n\nimport \"golang.org/x/sys/unix\"\n\n", goarch)
	b.WriteString("// filterPrograms are the seccomp programs, by filterIndex, that\n// seccomp_policy_linux_test.go assembles.\n")
	fmt.Fprintf(&b, "var filterPrograms = [%d][]unix.SockFilter{\n", len(progs))
	for i, raw := range progs {
		o := filterVariants()[i]
		fmt.Fprintf(&b, "\t// network %v, exec %v, mountNS %v, unix %v\n\t{\n", o.network, o.exec, o.mountNS, o.unix)
		for _, r := range raw {
			fmt.Fprintf(&b, "\t\t{Code: %#04x, Jt: %d, Jf: %d, K: %#x},\n", r.Op, r.Jt, r.Jf, r.K)
		}
		b.WriteString("\t},\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// filterRaw returns the loaded program for o as x/net/bpf instructions.
func filterRaw(t *testing.T, o filterOptions) []bpf.RawInstruction {
	t.Helper()
	prog, err := compileFilter(o)
	must(t, err)
	raw := make([]bpf.RawInstruction, len(prog))
	for i, f := range prog {
		raw[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
	}
	return raw
}
