// shim.h declares the C side of the XPC bridge. Blocks and XPC objects stay
// in C; Go sees opaque pointers to C memory and hands C only cgo.Handle
// values (integers), never a Go pointer.
#ifndef CARAPACE_XPC_SHIM_H
#define CARAPACE_XPC_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <xpc/xpc.h>

// Outcomes of gxpc_listen and gxpc_dial.
enum {
	GXPC_OK = 0,
	GXPC_EREQUIREMENT = 1, // the code-signing requirement was rejected
	GXPC_ENOTFOUND = 2,    // no such service, or it refused us
	GXPC_EINTERRUPTED = 3, // the service went away during the handshake
	GXPC_ESIGNATURE = 4,   // the service does not satisfy our requirement
	GXPC_EPROTOCOL = 5,    // the service answered the handshake wrongly
};

// GXPC_MAX is the largest payload accepted in one message (MaxMessage).
#define GXPC_MAX (16u << 20)

// A gxpc_peer is one XPC connection carrying lines: a peer accepted by a
// listener or a client's connection to a service. C owns it and frees it
// after the connection's final event, having first called gxpcClosed.
typedef struct gxpc_peer gxpc_peer;

xpc_connection_t gxpc_listen(const char *name, const char *requirement, uintptr_t h);
void gxpc_listener_cancel(xpc_connection_t l);
gxpc_peer *gxpc_dial(const char *name, const char *requirement, uintptr_t h, int *err);
void gxpc_send(gxpc_peer *p, const void *buf, size_t n);
void gxpc_cancel(gxpc_peer *p);
void gxpc_peer_creds(gxpc_peer *p, uid_t *uid, gid_t *gid, pid_t *pid);

#endif
