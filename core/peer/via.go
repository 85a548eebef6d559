package peer

// Via names the entry a connection came in by. Security checks compare
// it only through Local, an allow-list: an entry added later is remote
// until it is named here.
type Via string

// The entries.
const (
	ViaUnix      Via = "unix"      // the router's Unix socket
	ViaXPC       Via = "xpc"       // the macOS XPC bridge
	ViaWebSocket Via = "websocket" // the local WebSocket and HTTP entry (/mcp)
	ViaRelay     Via = "relay"     // the relay tunnel
)

// Local reports whether v is an entry whose peer the kernel names (a Unix
// socket or XPC): the only entries the owner's credentials can be seen on.
// Every other entry is reachable from a browser or the network.
func (v Via) Local() bool { return v == ViaUnix || v == ViaXPC }
