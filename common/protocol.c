/*
 * protocol.c: names for the wire constants in protocol.h.
 */
#include "protocol.h"

static const char *const status_names[] = {
	[STATUS_OK] = "OK",
	[STATUS_CANCELED] = "Canceled",
	[STATUS_UNKNOWN] = "Unknown",
	[STATUS_INVALID_ARGUMENT] = "InvalidArgument",
	[STATUS_DEADLINE_EXCEEDED] = "DeadlineExceeded",
	[STATUS_NOT_FOUND] = "NotFound",
	[STATUS_ALREADY_EXISTS] = "AlreadyExists",
	[STATUS_PERMISSION_DENIED] = "PermissionDenied",
	[STATUS_RESOURCE_EXHAUSTED] = "ResourceExhausted",
	[STATUS_FAILED_PRECONDITION] = "FailedPrecondition",
	[STATUS_ABORTED] = "Aborted",
	[STATUS_OUT_OF_RANGE] = "OutOfRange",
	[STATUS_UNIMPLEMENTED] = "Unimplemented",
	[STATUS_INTERNAL] = "Internal",
	[STATUS_UNAVAILABLE] = "Unavailable",
	[STATUS_DATA_LOSS] = "DataLoss",
	[STATUS_UNAUTHENTICATED] = "Unauthenticated",
};

/* The gRPC name of a status code, "Code(N)"-free: unknown codes are "Unknown". */
const char *
status_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof(status_names) / sizeof(status_names[0]))
		return ("Unknown");
	return (status_names[code]);
}
