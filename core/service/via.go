package service

import "github.com/gimme-tools/carapace/core/peer"

// Via names the entry a call came in by. It is peer.Via, said where a
// connection is accepted (rpcserver reads it without importing service);
// these names keep a service's code in its own words.
type Via = peer.Via

// The entries (see peer.Via).
const (
	ViaUnix      = peer.ViaUnix
	ViaXPC       = peer.ViaXPC
	ViaWebSocket = peer.ViaWebSocket
	ViaRelay     = peer.ViaRelay
)
