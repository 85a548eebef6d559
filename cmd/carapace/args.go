package main

import (
	"flag"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// intersperse lets flags follow positional arguments (`carapace call echo
// '{}' --json`), as people type them: it moves every flag the subcommand
// knows in front of its positional arguments. Everything after "--" stays
// where it is, so `carapace exec -- ls --json` passes --json to ls.
func intersperse(root *ffcli.Command, args []string) []string {
	if len(args) == 0 {
		return args
	}
	var sub *ffcli.Command
	for _, c := range root.Subcommands {
		if c.Name == args[0] {
			sub = c
		}
	}
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
		if name == "" || f == nil {
			pos = append(pos, a)
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
