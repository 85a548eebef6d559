package main

import (
	"errors"
	"testing"

	"github.com/gimme-tools/carapace/core/errs"
)

// TestErrorExitAndJSON: the exit status and the --json fields come from
// the one error type: Exit when set, else the kind; usage errors carry
// no code; an error that is only an exit status prints nothing.
func TestErrorExitAndJSON(t *testing.T) {
	down := errs.Decode(-32007, "service unavailable", []byte(`{"reason":"service_down","hint":"carapace status"}`))
	for _, tc := range []struct {
		name   string
		err    error
		exit   int
		code   any // nil: no code
		reason errs.Reason
		text   string
	}{
		{"usage", usage("run --help", "unknown flag %q", "-x"), exitUsage, nil, errs.ReasonUsage, `unknown flag "-x"`},
		{"router's refusal", errs.E("file.read", down), exitUnavailable, -32007, errs.ReasonServiceDown, "file.read: service unavailable (service_down) [-32007]"},
		{"forbidden", errs.E("exec", errs.Decode(-32003, "forbidden", []byte(`{"reason":"scope"}`))), exitError, -32003, errs.ReasonScope, "exec: forbidden (scope) [-32003]"},
		{"timed out", timedOut("exec", "raise --timeout-ms"), exitTimedOut, -32008, errs.ReasonTimedOut, "exec: timed out: the command timed out and was killed"},
		{"could not run", withExit(exitCannotRun, errs.E("exec", errs.Decode(-32004, "not found", []byte(`{"reason":"no_program"}`)))), exitCannotRun, -32004, errs.ReasonNoProgram, "exec: not found (no_program) [-32004]"},
		{"plain", errors.New("boom"), exitError, nil, "", "boom"},
	} {
		j := errorJSON(tc.err)
		if exitCodeOf(tc.err) != tc.exit || j["exit"] != tc.exit || j["code"] != tc.code || tc.err.Error() != tc.text {
			t.Errorf("%s: exit %d, json %v, text %q; want exit %d code %v text %q", tc.name, exitCodeOf(tc.err), j, tc.err.Error(), tc.exit, tc.code, tc.text)
		}
		if r, _ := j["reason"].(errs.Reason); r != tc.reason {
			t.Errorf("%s: reason %q, want %q", tc.name, r, tc.reason)
		}
		if silent(tc.err) {
			t.Errorf("%s: silent", tc.name)
		}
	}
	if !silent(exitStatus(3)) || exitCodeOf(exitStatus(3)) != 3 {
		t.Error("exitStatus(3) must print nothing and exit 3")
	}
	if h := hintOf(cliHint("file.write", errs.E("file.write", errs.Decode(-32000, "operation failed", []byte(`{"reason":"exists","hint":"use mode \"overwrite\""}`))))); h != cliWords[cliKey{"file.write", errs.ReasonExists}] {
		t.Errorf("cliHint: hint %q, want the CLI's words", h)
	}
	local := errs.E("file.write", errs.Failed, errs.ReasonExists, errs.Hint("use mode overwrite"), errors.New("/d/a exists"))
	if r := relabel(local, "file.write"); !errs.Match(errs.E("file write", errs.Failed, errs.ReasonExists, errs.Hint("use mode overwrite")), r) || r.Error() != "file write: operation failed: exists: /d/a exists" {
		t.Errorf("relabel kept %q (%v), want the verb and every other field", r, r)
	}
}
