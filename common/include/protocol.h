/*
 * protocol.h: every wire constant of sandboxd's ttrpc protocol in one place
 * (frame layout, status codes, service names, metadata keys).  See
 * shared spec wire.md; the values are containerd's, so its clients work.
 */
#ifndef SANDBOXD_PROTOCOL_H
#define SANDBOXD_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/* Frame: 4-byte length, 4-byte stream id (both big-endian), type, flags. */
#define FRAME_HEADER_SIZE	10
#define FRAME_MAX_PAYLOAD	(4u << 20)	/* ttrpc's default maximum */

#define FRAME_TYPE_REQUEST	1
#define FRAME_TYPE_RESPONSE	2
#define FRAME_TYPE_DATA		3

#define FRAME_FLAG_REMOTE_CLOSED 0x1
#define FRAME_FLAG_REMOTE_OPEN	0x2
#define FRAME_FLAG_NO_DATA	0x4

/* google.rpc.Code values (gRPC numbering). */
enum status_code {
	STATUS_OK = 0,
	STATUS_CANCELED = 1,
	STATUS_UNKNOWN = 2,
	STATUS_INVALID_ARGUMENT = 3,
	STATUS_DEADLINE_EXCEEDED = 4,
	STATUS_NOT_FOUND = 5,
	STATUS_ALREADY_EXISTS = 6,
	STATUS_PERMISSION_DENIED = 7,
	STATUS_RESOURCE_EXHAUSTED = 8,
	STATUS_FAILED_PRECONDITION = 9,
	STATUS_ABORTED = 10,
	STATUS_OUT_OF_RANGE = 11,
	STATUS_UNIMPLEMENTED = 12,
	STATUS_INTERNAL = 13,
	STATUS_UNAVAILABLE = 14,
	STATUS_DATA_LOSS = 15,
	STATUS_UNAUTHENTICATED = 16,
};

/* Services served on the socket. */
#define SERVICE_STORE		"containerd.services.sandbox.v1.Store"
#define SERVICE_CONTROLLER	"containerd.services.sandbox.v1.Controller"
#define SERVICE_SHIM		"containerd.runtime.sandbox.v1.Sandbox"
#define SERVICE_TASK		"containerd.task.v2.Task"
#define SERVICE_ADMIN		"sandboxd.v1.Admin"

/* Request metadata keys carrying the containerd namespace. */
#define MD_NAMESPACE_TTRPC	"containerd-namespace-ttrpc"
#define MD_NAMESPACE_GRPC	"containerd-namespace"

/* Identifier and label rules (spec section 3). */
#define IDENT_MAX_LEN		76
#define LABEL_MAX_SIZE		4096

/* Type URL of sandboxd's metrics message in Metric.data. */
#define METRICS_TYPE_URL	"sandboxd.v1.Metrics"
/* Type URL of OCI runtime spec JSON in Sandbox.spec. */
#define OCI_SPEC_TYPE_URL \
	"types.containerd.io/opencontainers/runtime-spec/1/Spec"

/* Runtime names (spec section 6). */
#define RUNTIME_PAUSE		"io.sandboxd.pause.v1"
#define RUNTIME_EXEC		"io.sandboxd.exec.v1"

/* protocol.c */
const char	*status_code_name(int);

#endif /* SANDBOXD_PROTOCOL_H */
