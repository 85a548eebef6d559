package main

import (
	"flag"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// intersperse lets flags go where people type them: after positional
// arguments (`carapace call echo '{}' --json`), or before the subcommand
// (`carapace --socket S exec -- id`, as other CLIs take global flags). It
// moves every flag the subcommand knows in front of its positional
// arguments, and unknown flags too, so that the parse reports them.
// Everything after "--" stays where it is, so `carapace exec
// -- ls --json` passes --json to ls.
func intersperse(root *ffcli.Command, args []string) []string {
	args = leadingFlags(root, args)
	if len(args) == 0 {
		return args
	}
	sub := subcommand(root, args[0])
	if sub == nil || sub.FlagSet == nil {
		return args
	}
	rest := args[1:]
	if len(rest) > 0 && len(sub.Subcommands) > 0 {
		// `carapace token inspect TOKEN --json`: the same, one level down.
		return append([]string{args[0]}, intersperse(sub, rest)...)
	}
	var flags, pos []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i:]...)
			break
		}
		name, hasValue := flagName(a)
		f := sub.FlagSet.Lookup(name)
		if name == "" {
			pos = append(pos, a)
			continue
		}
		if f == nil {
			// An unknown flag goes in front too, so the parse names it
			// (with the command's usage) instead of the command taking
			// it for an argument.
			flags = append(flags, a)
			continue
		}
		flags = append(flags, a)
		if !hasValue && !isBool(f) && i+1 < len(rest) {
			flags = append(flags, rest[i+1])
			i++
		}
	}
	return append(append([]string{args[0]}, flags...), pos...)
}

// leadingFlags moves flags given before the subcommand's name after it:
// `--socket S exec -- id` becomes `exec --socket S -- id`. Whether a
// leading flag takes a value is decided by the subcommands' flags (the
// subcommand is not known yet): a flag that is boolean wherever it is
// defined takes none. Without a subcommand name after the flags, args
// are left as they are, and the root's parse reports the flag.
func leadingFlags(root *ffcli.Command, args []string) []string {
	var lead []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args
		}
		name, hasValue := flagName(a)
		if name == "" {
			if i == 0 || subcommand(root, a) == nil {
				return args
			}
			out := append([]string{a}, lead...)
			return append(out, args[i+1:]...)
		}
		lead = append(lead, a)
		if !hasValue && !boolEverywhere(root, name) && i+1 < len(args) {
			lead = append(lead, args[i+1])
			i++
		}
	}
	return args
}

func subcommand(root *ffcli.Command, name string) *ffcli.Command {
	for _, c := range root.Subcommands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// boolEverywhere reports whether every subcommand that defines the flag
// name defines it as a boolean (and one does).
func boolEverywhere(root *ffcli.Command, name string) bool {
	found := false
	for _, c := range root.Subcommands {
		if c.FlagSet == nil {
			continue
		}
		if f := c.FlagSet.Lookup(name); f != nil {
			if !isBool(f) {
				return false
			}
			found = true
		}
	}
	return found
}

// flagName returns the name in "-x", "--x" or "--x=v", and whether the
// value is attached.
func flagName(a string) (string, bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false
	}
	a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	name, _, hasValue := strings.Cut(a, "=")
	return name, hasValue
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
