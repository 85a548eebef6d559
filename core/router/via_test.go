package router_test

import "testing"

// TestUnnamedEntryIsRemote: an entry the router does not name (one added
// later, say) is treated as remote, never as the local socket: without a
// token it learns nothing of the owner, and owner-only methods are
// refused. Entries are compared through an allow-list (service.Via.Local).
func TestUnnamedEntryIsRemote(t *testing.T) {
	st := startStack(t, true)
	c := dial(t, serveVia(t, st, "grpc"))
	for _, m := range []string{"whoami", "services", "rpc.methods"} {
		if ce := callErr(t, c, m, nil); ce.Kind.Code() != -32001 || ce.Reason != "token_required" {
			t.Errorf("%s over an unnamed entry without a token: %+v", m, ce)
		}
	}
	if ce := callErr(t, c, "token.issue", map[string]any{"aud": "code"}); ce.Kind.Code() != -32003 || ce.Reason != "remote_entry" {
		t.Errorf("token.issue over an unnamed entry: %+v", ce)
	}
}
