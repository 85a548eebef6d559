package errs

import (
	"errors"
	"io/fs"
	"testing"
)

func TestErrorText(t *testing.T) {
	inner := E("token.verify", Unauthorized, ReasonExpired, Hint("ask for a new one"), errors.New("exp 5 < now 9"))
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"every part", inner, "token.verify: unauthenticated: expired: exp 5 < now 9"},
		{"wrapped: kind and reason said once", E("auth", inner), "auth: token.verify: unauthenticated: expired: exp 5 < now 9"},
		{"kind alone", E(NotFound), "not found"},
		{"a plain cause", E("open", errors.New("no such file")), "open: no such file"},
		{"a reason that repeats the kind", E("exec", Timeout, ReasonTimedOut, errors.New("killed")), "exec: timed out: killed"},
		{"usage: the cause alone", E(Usage, ReasonUsage, errors.New("unknown command \"x\"")), "unknown command \"x\""},
		{"decoded", Decode(-32003, "forbidden", []byte(`{"reason":"scope","detail":"file.read: token.scope: GET /x"}`)), "forbidden (scope): file.read: token.scope: GET /x [-32003]"},
		{"decoded, wrapped", E("file.read", Decode(-32003, "forbidden", []byte(`{"reason":"scope"}`))), "file.read: forbidden (scope) [-32003]"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEInheritsTheKind(t *testing.T) {
	err := E("outer", E("inner", Forbidden, ReasonScope))
	if KindOf(err) != Forbidden || ReasonOf(err) != ReasonScope {
		t.Errorf("kind %v reason %q", KindOf(err), ReasonOf(err))
	}
	defer func() {
		if recover() == nil {
			t.Error("E(42) did not panic")
		}
	}()
	E(42)
}

func TestChainAccessors(t *testing.T) {
	inner := &Error{Kind: RateLimited, Reason: ReasonRateLimited, Hint: "retry", Data: map[string]any{"retry_after_ms": 10, "rule": "a"}, Exit: 7}
	outer := &Error{Op: "call", Hint: "in the CLI's words", Data: map[string]any{"rule": "b"}, Err: inner}
	if KindOf(outer) != RateLimited || ReasonOf(outer) != ReasonRateLimited || ExitOf(outer) != 7 {
		t.Errorf("kind %v reason %q exit %d", KindOf(outer), ReasonOf(outer), ExitOf(outer))
	}
	if HintOf(outer) != "in the CLI's words" {
		t.Errorf("hint %q: the outer hint wins", HintOf(outer))
	}
	if d := DataOf(outer); d["rule"] != "b" || d["retry_after_ms"] != 10 {
		t.Errorf("data %v", d)
	}
	if KindOf(errors.New("plain")) != Other || ReasonOf(nil) != "" || ExitOf(nil) != 0 {
		t.Error("a chain without an *Error has no kind, reason or exit")
	}
}

func TestKindCodes(t *testing.T) {
	if Other.Code() != int(Internal) || Usage.Code() != int(InvalidParams) || Forbidden.Code() != -32003 {
		t.Errorf("codes: other %d usage %d forbidden %d", Other.Code(), Usage.Code(), Forbidden.Code())
	}
	if KindOfCode(int(Usage)) != Other || KindOfCode(-32099) != Other || KindOfCode(-32007) != Unavailable {
		t.Error("KindOfCode: a local kind or an unknown code must not come from the wire")
	}
}

func TestDecode(t *testing.T) {
	e := Decode(-32005, "rate limited", []byte(`{"reason":"rate_limited","hint":"wait","retry_after_ms":250,"detail":"code.execute"}`))
	if e.Kind != RateLimited || e.Reason != ReasonRateLimited || e.Hint != "wait" || e.Data["retry_after_ms"] != 250.0 || !e.Remote() {
		t.Errorf("decoded %+v", e)
	}
	if _, ok := e.Data["reason"]; ok {
		t.Error("reason is a field, not a data member")
	}
	// A code Carapace does not define keeps its number; data that is not
	// an object is ignored.
	u := Decode(-32099, "custom", []byte(`[1,2]`))
	if u.Kind.Code() != -32099 || u.Reason != "" || u.Error() != "custom [-32099]" {
		t.Errorf("unknown code: %+v %q", u, u.Error())
	}
	if Decode(7, "odd", nil).Kind != Other {
		t.Error("a positive code must not become a local kind")
	}
	if (&Error{Kind: Failed}).Remote() {
		t.Error("an error made here is not remote")
	}
}

func TestMatch(t *testing.T) {
	err := E("file.write", E("file.check", Forbidden, ReasonDeniedByRule, Hint("rename it"), fs.ErrPermission))
	withExit := &Error{Exit: 124, Err: err}
	for _, tc := range []struct {
		name     string
		template error
		err      error
		want     bool
	}{
		{"kind", E(Forbidden), err, true},
		{"other kind", E(NotFound), err, false},
		{"reason", E(ReasonDeniedByRule), err, true},
		{"kind and reason", E(Forbidden, ReasonDeniedByRule), err, true},
		{"kind and another reason", E(Forbidden, ReasonScope), err, false},
		{"outer op", E("file.write"), err, true},
		{"inner op", E("file.check"), err, true},
		{"no such op", E("file.read"), err, false},
		{"hint", E(Hint("rename it")), err, true},
		{"cause", E(fs.ErrPermission), err, true},
		{"other cause", E(fs.ErrNotExist), err, false},
		{"exit", &Error{Exit: 124}, withExit, true},
		{"other exit", &Error{Exit: 1}, withExit, false},
		{"empty template", &Error{}, err, true},
		{"decoded", E(Unavailable, ReasonServiceDown), Decode(-32007, "service unavailable", []byte(`{"reason":"service_down"}`)), true},
		{"nil error", E(Forbidden), nil, false},
		{"template not an *Error", errors.New("forbidden"), err, false},
	} {
		if got := Match(tc.template, tc.err); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}
