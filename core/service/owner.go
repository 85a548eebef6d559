package service

import "github.com/gimme-tools/carapace/core/errs"

// OwnerRefusal words OwnerOnly's refusals for the methods it guards.
type OwnerRefusal struct {
	Hint string
	// Remote and Token are the reasons for a call over a remote entry
	// and for one that holds a token.
	Remote, Token errs.Reason
}

// OwnerOnly refuses anyone but the owner (by peer credentials, as the
// router saw them) on a local entry, and any call that holds a token: a
// token is what an agent holds, and an agent must never act as the owner
// (approve its own commands, set a route's secret).
func OwnerOnly(op string, c Caller, r OwnerRefusal) error {
	switch {
	case !c.Via.Local():
		return errs.E(op, errs.Forbidden, r.Remote, errs.Hint(r.Hint))
	case !c.Owner:
		return errs.E(op, errs.Forbidden, errs.ReasonNotOwner, errs.Hint(r.Hint))
	case c.Token != "":
		return errs.E(op, errs.Forbidden, r.Token, errs.Hint(r.Hint+", on a connection that holds no token"))
	}
	return nil
}
