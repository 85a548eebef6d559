package errs

import "errors"

// Match reports whether err agrees with every non-zero field of template,
// which must be an *Error (as E returns): Kind with KindOf(err), Reason
// with ReasonOf(err), Hint with HintOf(err), Op with the Op of some *Error
// in err's chain, Exit with the first non-zero Exit in it, and Err with
// errors.Is. Data is not compared. A template that is not an *Error
// matches nothing.
//
//	if errs.Match(errs.E(errs.Forbidden, errs.ReasonNotOwner), err) { … }
func Match(template, err error) bool {
	t, ok := template.(*Error)
	if !ok || err == nil {
		return false
	}
	switch {
	case t.Kind != Other && KindOf(err) != t.Kind,
		t.Reason != "" && ReasonOf(err) != t.Reason,
		t.Hint != "" && HintOf(err) != t.Hint,
		t.Op != "" && !hasOp(err, t.Op),
		t.Exit != 0 && ExitOf(err) != t.Exit,
		t.Err != nil && !errors.Is(err, t.Err):
		return false
	}
	return true
}

func hasOp(err error, op string) bool {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Op == op {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}

// ExitOf returns the first non-zero Exit in err's chain, or 0.
func ExitOf(err error) int {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Exit != 0 {
			return e.Exit
		}
		err = errors.Unwrap(err)
	}
	return 0
}
