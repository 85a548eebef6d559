//go:build darwin && cgo

// shim.c is the C half of the XPC bridge: a listener per Mach service whose
// peers must satisfy a code-signing requirement, and a client connection to
// a privileged service that pins the service's signature.
//
// Each connection starts with a handshake: the client sends {"hello": true}
// and waits for the reply. XPC drops every message from a peer that does
// not satisfy the requirement, so a listener accepts a peer only once a
// checked hello arrives, and a client sends nothing else (no token) until a
// checked reply does. After that each message is {"p": <xpc_data>}, one
// JSON-RPC line, sent asynchronously in both directions; XPC delivers the
// messages of one connection in order.
//
// Peers are never identified by PID. xpc_connection_get_pid is read only to
// label logs.

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

struct gxpc_peer {
	xpc_connection_t conn;
	uintptr_t listener; // the listener's handle; 0 for a client connection
	uintptr_t handle;   // the Go connection's handle; 0 until accepted
};

static void peer_event(gxpc_peer *p, xpc_object_t ev);

// accept_peer validates and starts one new peer of a listener.
static void accept_peer(xpc_connection_t conn, const char *requirement, uintptr_t lh) {
	gxpc_peer *p = calloc(1, sizeof *p);
	if (p == NULL) {
		abort();
	}
	p->conn = xpc_retain(conn);
	p->listener = lh;
	int rc = xpc_connection_set_peer_code_signing_requirement(conn, requirement);
	xpc_connection_set_event_handler(conn, ^(xpc_object_t ev) {
		peer_event(p, ev);
	});
	if (rc != 0) {
		xpc_connection_cancel(conn); // no message is delivered before resume
	}
	xpc_connection_resume(conn);
}

// hello handles a peer's first message: the handshake.
static void hello(gxpc_peer *p, xpc_object_t msg) {
	if (!xpc_dictionary_get_bool(msg, "hello")) {
		xpc_connection_cancel(p->conn);
		return;
	}
	p->handle = gxpcAccept(p->listener, p,
		xpc_connection_get_euid(p->conn), xpc_connection_get_egid(p->conn),
		xpc_connection_get_pid(p->conn));
	if (p->handle == 0) { // the listener is closed
		xpc_connection_cancel(p->conn);
		return;
	}
	xpc_object_t reply = xpc_dictionary_create_reply(msg);
	if (reply != NULL) {
		xpc_dictionary_set_bool(reply, "ok", true);
		xpc_connection_send_message(p->conn, reply);
		xpc_release(reply);
	}
}

// peer_event runs on the connection's queue, one event at a time.
static void peer_event(gxpc_peer *p, xpc_object_t ev) {
	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
		if (p->handle == 0) {
			hello(p, ev);
			return;
		}
		size_t n = 0;
		const void *b = xpc_dictionary_get_data(ev, "p", &n);
		if (b == NULL || n > GXPC_MAX) {
			xpc_connection_cancel(p->conn);
			return;
		}
		gxpcRecv(p->handle, (void *)b, n);
		return;
	}
	if (ev == XPC_ERROR_CONNECTION_INVALID) { // the last event
		if (p->handle != 0) {
			gxpcClosed(p->handle);
		}
		xpc_release(p->conn);
		free(p);
		return;
	}
	// XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT, XPC_ERROR_CONNECTION_INTERRUPTED,
	// XPC_ERROR_TERMINATION_IMMINENT: end the connection; the last event follows.
	xpc_connection_cancel(p->conn);
}

xpc_connection_t gxpc_listen(const char *name, const char *requirement, uintptr_t h) {
	char *req = strdup(requirement);
	if (req == NULL) {
		abort();
	}
	xpc_connection_t l = xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
			accept_peer((xpc_connection_t)ev, req, h);
			return;
		}
		if (ev == XPC_ERROR_CONNECTION_INVALID) {
			gxpcListenerClosed(h);
			free(req);
		}
	});
	// The listener itself carries no messages; each peer it hands over is
	// checked in accept_peer before it is resumed.
	xpc_connection_resume(l);
	return l;
}

void gxpc_listener_cancel(xpc_connection_t l) {
	xpc_connection_cancel(l);
}

static int handshake_error(xpc_object_t reply) {
	if (reply == XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT) {
		return GXPC_ESIGNATURE;
	}
	if (reply == XPC_ERROR_CONNECTION_INTERRUPTED) {
		return GXPC_EINTERRUPTED;
	}
	if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
		return GXPC_ENOTFOUND;
	}
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY || !xpc_dictionary_get_bool(reply, "ok")) {
		return GXPC_EPROTOCOL;
	}
	return GXPC_OK;
}

gxpc_peer *gxpc_dial(const char *name, const char *requirement, uintptr_t h, int *err) {
	gxpc_peer *p = calloc(1, sizeof *p);
	if (p == NULL) {
		abort();
	}
	xpc_connection_t conn = xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_PRIVILEGED);
	p->conn = conn;
	p->handle = h;
	int rc = xpc_connection_set_peer_code_signing_requirement(conn, requirement);
	xpc_connection_set_event_handler(conn, ^(xpc_object_t ev) {
		peer_event(p, ev);
	});
	if (rc != 0) {
		xpc_connection_cancel(conn);
	}
	xpc_connection_resume(conn);
	if (rc != 0) {
		*err = GXPC_EREQUIREMENT;
		return NULL;
	}
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_bool(msg, "hello", true);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(conn, msg);
	xpc_release(msg);
	*err = handshake_error(reply);
	xpc_release(reply);
	if (*err != GXPC_OK) {
		xpc_connection_cancel(conn); // p is freed after the last event
		return NULL;
	}
	return p;
}

void gxpc_send(gxpc_peer *p, const void *buf, size_t n) {
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_data(msg, "p", buf, n);
	xpc_connection_send_message(p->conn, msg);
	xpc_release(msg);
}

void gxpc_cancel(gxpc_peer *p) {
	xpc_connection_cancel(p->conn);
}

// gxpc_peer_creds reports the peer's effective ids as XPC recorded them when
// the connection was made, and its pid for logs.
void gxpc_peer_creds(gxpc_peer *p, uid_t *uid, gid_t *gid, pid_t *pid) {
	*uid = xpc_connection_get_euid(p->conn);
	*gid = xpc_connection_get_egid(p->conn);
	*pid = xpc_connection_get_pid(p->conn);
}
