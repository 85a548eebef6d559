package main

import (
	"strings"
	"testing"
)

func TestIntersperse(t *testing.T) {
	root := rootCommand()
	for _, tc := range []struct{ in, want string }{
		{"call echo {} --json", "call --json echo {}"},
		{"call --socket /s echo", "call --socket /s echo"},
		{"call echo --socket /s", "call --socket /s echo"},
		{"call echo --socket=/s", "call --socket=/s echo"},
		{"exec --timeout-ms 5 -- ls --json", "exec --timeout-ms 5 -- ls --json"},
		{"exec -- ls --json", "exec -- ls --json"},
		{"serve code --socket /s", "serve --socket /s code"},
		{"call echo --unknown", "call --unknown echo"}, // so the parse names it
		{"nosuch --json", "nosuch --json"},
		// Flags before the subcommand, as global flags go in other CLIs.
		{"--socket /s exec -- id", "exec --socket /s -- id"},
		{"--socket=/s --json status", "status --socket=/s --json"},
		{"--json ping", "ping --json"},
		{"--json call echo {} --socket /s", "call --json --socket /s echo {}"},
		{"--socket /s token inspect T", "token inspect --socket /s T"},
		{"--socket /s", "--socket /s"},
		{"--socket /s nosuch", "--socket /s nosuch"},
		{"-- ping", "-- ping"},
	} {
		got := strings.Join(intersperse(root, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("intersperse(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
