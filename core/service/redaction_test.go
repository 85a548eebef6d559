package service

import (
	"encoding/base64"
	"testing"
)

// TestRawReader: only the owner's CLI token reads unredacted, whichever
// tokens came before it (tokenAgent remembers the last one it read).
func TestRawReader(t *testing.T) {
	tok := func(payload string) string {
		return "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	}
	cli, agent, none := tok(`{"agent":"`+CLIAgent+`"}`), tok(`{"agent":"claude"}`), tok(`{"sub":"x"}`)
	for i, c := range []struct {
		token string
		owner bool
		raw   bool
	}{
		{cli, true, true}, {cli, true, true}, {agent, true, false}, {cli, true, true}, {cli, false, false},
		{none, true, false}, {"not.a-token", true, false}, {cli, true, true}, {agent, true, false}, {agent, true, false},
	} {
		call := &Call{Caller: Caller{Owner: c.owner, Token: c.token}}
		if got := RawReader(call); got != c.raw {
			t.Errorf("%d: RawReader(owner %v, %s) = %v, want %v", i, c.owner, c.token, got, c.raw)
		}
	}
	if RawReader(nil) {
		t.Error("RawReader(nil) = true")
	}
}
