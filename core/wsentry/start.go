package wsentry

import (
	"log/slog"
	"net/http"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/rpcserver"
)

// Running is an entry serving on its own listener, as the stack starts it.
type Running struct {
	Entry  *Entry
	listen string
	done   chan error
}

// Status is the entry's state, for `carapace status`.
type Status struct {
	Listen      string `json:"listen"`
	Connections int    `json:"connections"`
}

// Start listens on cfg.Listen and serves the entry with its own
// rpcserver.Server, so that WebSocket peers count against their own
// connection limit and can never use up the Unix socket's. mcp, when not
// nil, makes the handler for /mcp from that server (core/mcpserver).
func Start(cfg config.WebSocket, d rpcserver.Dispatcher, lim rpcserver.Limits,
	onBearer func(*rpcserver.Session, string) error, mcp func(*rpcserver.Server) http.Handler,
	log *slog.Logger) (*Running, error) {
	l, err := Listen(cfg.Listen, cfg.AllowNonLoopback)
	if err != nil {
		return nil, err
	}
	e := &Entry{
		Server:         &rpcserver.Server{Dispatcher: d, Limits: lim, Log: log, Via: Via},
		AllowedOrigins: cfg.AllowedOrigins,
		OnBearer:       onBearer,
		Log:            log,
	}
	if mcp != nil {
		e.MCP = mcp(e.Server)
	}
	r := &Running{Entry: e, listen: l.Addr().String(), done: make(chan error, 1)}
	go func() { r.done <- e.Serve(l) }()
	return r, nil
}

// Status reports the address served and the open connections.
func (r *Running) Status() Status {
	return Status{Listen: r.listen, Connections: r.Entry.Server.Sessions()}
}

// Close stops the listener and ends every connection with 1001.
func (r *Running) Close() error {
	err := r.Entry.Close()
	r.Entry.Server.Close()
	if serr := <-r.done; err == nil {
		err = serr
	}
	return err
}
