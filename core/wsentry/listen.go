package wsentry

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gimme-tools/carapace/core/errs"
)

// OverrideKey is the configuration key that lets the entry listen on a
// non-loopback address. Its name is meant to be read aloud.
const OverrideKey = "websocket.i_understand_this_exposes_carapace_to_the_network"

// Listen opens a TCP listener for the entry on addr (host:port). It
// refuses any address that is not loopback — including an empty host or
// 0.0.0.0, which mean every interface — unless allowNonLoopback is set.
// "localhost" is bound as 127.0.0.1, never resolved: a hosts file must not
// be able to move the entry onto the network.
func Listen(addr string, allowNonLoopback bool) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, errs.E("websocket.listen", errs.InvalidParams, errs.ReasonBadAddress,
			errs.Hint("use host:port, e.g. 127.0.0.1:7001"), err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if (ip == nil || !ip.IsLoopback()) && !allowNonLoopback {
		return nil, errs.E("websocket.listen", errs.Forbidden, errs.ReasonNotLoopback,
			errs.Hint("listen on 127.0.0.1, [::1] or localhost; to expose the entry to the network set "+OverrideKey+": true"),
			errors.New(addr+" is not a loopback address"))
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, errs.E("websocket.listen", errs.Failed, errs.ReasonListenFailed,
			errs.Hint("is another carapace (or another program) using "+addr+"?"), err)
	}
	return l, nil
}

// Serve serves the entry on l until Close. Handshake headers are bounded
// and must arrive promptly; upgraded connections are timed by the
// session limits instead.
func (e *Entry) Serve(l net.Listener) error {
	hs := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	e.mu.Lock()
	e.hs = hs
	e.mu.Unlock()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops accepting handshakes. Upgraded connections are sessions of
// the rpcserver.Server and end when it is closed.
func (e *Entry) Close() error {
	e.mu.Lock()
	hs := e.hs
	e.mu.Unlock()
	if hs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return hs.Shutdown(ctx)
}
