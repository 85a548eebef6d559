package code

import (
	"fmt"
	"os"
	"time"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/egress"
	"github.com/gimme-tools/carapace/core/service"
)

// egressGrace is how long the answer waits, after the command, for its
// connections' records: each connection ends with the command (its
// socket's other end is the command's), so this is rarely waited for.
const egressGrace = 5 * time.Second

// netSession is one command's network: the helper passes each TCP
// connection the command opens to its forwarder, as a descriptor, over
// the pool's end of its descriptor 5; that end goes to the proxy process
// (core/egress.Runner), which decides and relays each connection with the
// owner's rules for the command's directory and sends back its record;
// each record becomes an audit record (service.Decide, by
// audit.ByEgress). The code service itself relays no byte.
type netSession struct {
	call   *service.Call
	rules  egress.Rules
	runner *egress.Runner
	sess   *egress.Session
	// routes are the owner's credential routes, secrets included: they
	// go to the proxy process only, never to the command.
	routes *egress.Routes
	// ask asks the owner about a connection (ask mode); nil refuses.
	ask func(egress.Target) (bool, string)
}

func newNetSession(call *service.Call, runner *egress.Runner, rules egress.Rules, routes *egress.Routes) *netSession {
	return &netSession{call: call, rules: rules, runner: runner, routes: routes}
}

func (ns *netSession) record(r egress.Record) {
	service.Decide(ns.call, service.Decision{Decision: r.Decision, By: audit.ByEgress, Reason: describe(r)})
}

// describe is a connection's audit reason: what, where to, how much, why.
// A credential route's use names the route, the path sent upstream and
// the upstream's status.
func describe(r egress.Record) string {
	if r.Route != "" {
		return fmt.Sprintf("network route %s: %s %s:%d%s → %d, up %d B, down %d B: %s", r.Route, r.Method, r.Host, r.Port, r.Path, r.Status, r.Up, r.Down, r.Why)
	}
	to := r.Addr
	if to == "" {
		to = "-"
	}
	return fmt.Sprintf("network %s %s:%d → %s, up %d B, down %d B: %s", r.Method, r.Host, r.Port, to, r.Up, r.Down, r.Why)
}

// serve takes the pool's end of the helper's descriptor 5 (Command.Egress)
// and hands it to the proxy process. If that fails the command's
// connections find no one (it has no network) and the record says why.
func (ns *netSession) serve(sock *os.File) {
	cfg := egress.NewSessionConfig(ns.rules)
	cfg.SetRoutes(ns.routes)
	sess, err := ns.runner.Open(cfg, sock, ns.record, ns.ask)
	if err != nil {
		ns.record(egress.Record{Decision: "deny", Why: "no network for this command: " + err.Error()})
		return
	}
	ns.sess = sess
}

// wait waits, after the command, for its connections to end and be
// recorded; past egressGrace the proxy process cuts what is left. A
// command whose helper reported that it made no connection has no
// connection's record to wait for, only the proxy's word that the session
// opened (or the record of why it could not), long since sent: the
// session then ends in the proxy process on its own.
func (ns *netSession) wait(res *codeexec.Result) {
	switch {
	case ns.sess == nil:
	case res != nil && res.NoConnections:
		ns.sess.WaitOpened(egressGrace)
	default:
		ns.sess.Wait(egressGrace)
	}
}
