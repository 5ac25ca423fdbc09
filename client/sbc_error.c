/*
 * sbc_error.c: client error values, their names, the exit codes sandboxctl
 * derives from them, the default socket path and the library's version.
 */
#include <sys/types.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sbc_int.h"

/* Lower-case names, as containerd's errdefs print them. */
static const char *const error_names[] = {
	[STATUS_OK] = "ok",
	[STATUS_CANCELED] = "canceled",
	[STATUS_UNKNOWN] = "unknown",
	[STATUS_INVALID_ARGUMENT] = "invalid argument",
	[STATUS_DEADLINE_EXCEEDED] = "deadline exceeded",
	[STATUS_NOT_FOUND] = "not found",
	[STATUS_ALREADY_EXISTS] = "already exists",
	[STATUS_PERMISSION_DENIED] = "permission denied",
	[STATUS_RESOURCE_EXHAUSTED] = "resource exhausted",
	[STATUS_FAILED_PRECONDITION] = "failed precondition",
	[STATUS_ABORTED] = "aborted",
	[STATUS_OUT_OF_RANGE] = "out of range",
	[STATUS_UNIMPLEMENTED] = "not implemented",
	[STATUS_INTERNAL] = "internal",
	[STATUS_UNAVAILABLE] = "unavailable",
	[STATUS_DATA_LOSS] = "data loss",
	[STATUS_UNAUTHENTICATED] = "unauthenticated",
};

/*
 * Record an error (err may be NULL) and return its code, so a caller can
 * write return (sbc_error_set(err, code, ...)).  If the message cannot be
 * allocated it is left NULL; the code is set all the same.
 */
int
sbc_error_set(struct sbc_error *err, int code, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return (code);
	free(err->message);
	err->code = code;
	va_start(ap, fmt);
	sbc_vasprintf(&err->message, fmt, ap);
	va_end(ap);
	return (code);
}

/* Free an error's message and reset it to OK. */
void
sbc_error_clear(struct sbc_error *err)
{
	if (err == NULL)
		return;
	free(err->message);
	err->message = NULL;
	err->code = 0;
}

/* A short lower-case name for an sbc code ("not found", "transport"). */
const char *
sbc_error_name(int code)
{
	if (code == SBC_ERR_TRANSPORT)
		return ("transport");
	if (code == SBC_ERR_PROTOCOL)
		return ("protocol");
	if (code == SBC_ERR_NOMEM)
		return ("out of memory");
	if (code < 0 ||
	    (size_t)code >= sizeof error_names / sizeof error_names[0])
		return ("unknown");
	return (error_names[code]);
}

/* The sandboxctl exit code for an sbc code (SBC_EXIT_*). */
int
sbc_exit_code(int code)
{
	switch (code) {
	case STATUS_OK:
		return (SBC_EXIT_OK);
	case STATUS_NOT_FOUND:
		return (SBC_EXIT_NOT_FOUND);
	case STATUS_INVALID_ARGUMENT:
		return (SBC_EXIT_INVALID);
	case STATUS_ALREADY_EXISTS:
		return (SBC_EXIT_EXISTS);
	case STATUS_FAILED_PRECONDITION:
		return (SBC_EXIT_PRECONDITION);
	case STATUS_UNAVAILABLE:
	case SBC_ERR_TRANSPORT:
		return (SBC_EXIT_UNAVAILABLE);
	case STATUS_DEADLINE_EXCEEDED:
		return (SBC_EXIT_TIMEOUT);
	default:
		return (SBC_EXIT_ERROR);
	}
}

/*
 * The daemon's default socket, written into buf: $SANDBOXD_SOCKET, else
 * what sandboxd defaults to (server/config.c): for root, or anyone without
 * $XDG_RUNTIME_DIR, /run/sandboxd/sandboxd.sock, else
 * $XDG_RUNTIME_DIR/sandboxd/sandboxd.sock.
 */
const char *
sbc_default_socket(char *buf, size_t size)
{
	const char	*env;

	if ((env = getenv("SANDBOXD_SOCKET")) != NULL && *env != '\0')
		snprintf(buf, size, "%s", env);
	else if (geteuid() != 0 && (env = getenv("XDG_RUNTIME_DIR")) != NULL)
		snprintf(buf, size, "%s/sandboxd/sandboxd.sock", env);
	else
		snprintf(buf, size, "/run/sandboxd/sandboxd.sock");
	return (buf);
}

/* The version the library was built as (CMake's project version). */
const char *
sbc_version(void)
{
	return (SANDBOXD_VERSION);
}
