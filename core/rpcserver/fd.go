package rpcserver

import (
	"os"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/jsonrpc"
	"github.com/gimme-tools/carapace/core/peer"
)

// fdSink is a sink that can pass descriptors with a message.
type fdSink interface {
	sendFD(msg []byte, files []*os.File) error
	canPassFDs() bool
}

func (s *streamSink) sendFD(msg []byte, files []*os.File) error {
	return s.w.SendFD(msg, files...)
}

func (s *streamSink) canPassFDs() bool { return s.w.CanPassFDs() }

// CanPassFDs reports whether responses on this session may carry
// descriptors: a local Unix connection only, never the WebSocket, the
// relay or XPC.
func (s *Session) CanPassFDs() bool {
	fs, ok := s.sink.(fdSink)
	return ok && s.info.Via == peer.ViaUnix && fs.canPassFDs()
}

// FDNotAllowed is the error a response carrying a descriptor becomes on a
// session that cannot receive one.
func FDNotAllowed() *jsonrpc.Error {
	return jsonrpc.ErrorFrom(errs.E(errs.Forbidden, errs.ReasonFDNotAllowed,
		errs.Hint("descriptors are handed over only on the local Unix socket; read the file with file.read in chunks (offset and length) instead")))
}

// fdOrRefuse checks a response's descriptor against the session: it keeps
// it when the session can receive it, and otherwise closes it and turns
// the response into the fd_not_allowed error.
func (s *Session) fdOrRefuse(r *jsonrpc.Response) {
	if r.File == nil || s.CanPassFDs() {
		return
	}
	r.File.Close()
	r.File = nil
	r.Result = nil
	r.Error = FDNotAllowed()
}

// closeFile drops a response's descriptor (a notification's, or a second
// answer's).
func closeFile(r *jsonrpc.Response) {
	if r != nil && r.File != nil {
		r.File.Close()
		r.File = nil
	}
}
