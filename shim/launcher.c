/*
 * containerd-shim-sandboxd-v2: how containerd finds sandboxd.
 *
 * containerd's shim manager runs one "shim" per sandbox: it execs
 * containerd-shim-<name>-v2 with the "start" action, reads the address the
 * shim prints, and talks ttrpc to that address.  sandboxd serves every
 * sandbox from one daemon, so this launcher starts nothing: "start" checks
 * that sandboxd answers, hands it containerd's TTRPC_ADDRESS (where task
 * events go) and prints its socket; "delete", which containerd
 * runs when the connection closed or the shim is cleaned up, makes sure
 * sandboxd no longer runs the sandbox and reports how it ended.
 *
 * Output is the protocol: on success "start" writes only the address to
 * stdout (containerd reads stdout and stderr together) and "delete" writes
 * only an encoded containerd.task.v2.DeleteResponse.  Both finish within a
 * few seconds: containerd kills a "delete" after five.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb.h"
#include "pbutil.h"
#include "sandboxd/v1/admin.pb.h"
#include "sbc.h"

#define LAUNCHER_NAME		"containerd-shim-sandboxd-v2"
#define START_TIMEOUT_MS	3000	/* sandboxd must answer a Ping by then */
#define DELETE_BUDGET_MS	4000	/* all of "delete", below containerd's 5 s */
#define RETRY_INTERVAL_MS	100	/* between connection attempts */
#define STDIN_TIMEOUT_MS	1000	/* for the runtime options' EOF */
#define TTRPC_ADDRESS_ENV	"TTRPC_ADDRESS"	/* containerd's ttrpc socket */

/* The command line, as containerd's shim manager builds it. */
struct launcher_args {
	const char	*namespace;
	const char	*id;
	const char	*bundle;
	const char	*address;	/* containerd's, unused */
	const char	*publish_binary;	/* unused */
	const char	*action;
	bool		 debug;
};

/* The summary --help prints (to stdout) and a usage error (to stderr). */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " LAUNCHER_NAME " [-namespace NS] [-id ID] [-bundle DIR]\n"
	    "           [-address ADDR] [-publish-binary PATH] [-debug] "
	    "start|delete\n"
	    "       " LAUNCHER_NAME " -v | --help\n"
	    "\n"
	    "containerd runs this program; it is not meant to be run by hand.\n"
	    "start   check that sandboxd answers, hand it $TTRPC_ADDRESS (where\n"
	    "        task events go), write its address to the bundle's\n"
	    "        'address' file (the current directory) and print it\n"
	    "delete  shut the sandbox down in sandboxd if it still runs there\n"
	    "        and print a containerd.task.v2.DeleteResponse\n"
	    "\n"
	    "sandboxd's socket: $SANDBOXD_SOCKET, else /run/sandboxd/sandboxd.sock.\n"
	    "See sandboxd(8), section CONTAINERD.\n");
}

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Match "-name", "--name", "-name=value" and "--name=value". */
static const char *
flag_match(const char *arg, const char *name, bool *has_value)
{
	size_t	len = strlen(name);

	if (arg[0] != '-')
		return (NULL);
	arg += arg[1] == '-' ? 2 : 1;
	if (strncmp(arg, name, len) != 0)
		return (NULL);
	if (arg[len] == '\0') {
		*has_value = false;
		return (arg + len);
	}
	if (arg[len] != '=')
		return (NULL);
	*has_value = true;
	return (arg + len + 1);
}

/* Parse one flag at argv[*i]; 0, or -1 with a message on stderr. */
static int
parse_flag(int argc, char **argv, int *i, struct launcher_args *a)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} string_flags[] = {
		{ "namespace", offsetof(struct launcher_args, namespace) },
		{ "id", offsetof(struct launcher_args, id) },
		{ "bundle", offsetof(struct launcher_args, bundle) },
		{ "address", offsetof(struct launcher_args, address) },
		{ "publish-binary", offsetof(struct launcher_args, publish_binary) },
	};
	const char	*arg = argv[*i], *value;
	bool		 has_value;
	size_t		 n;

	if (flag_match(arg, "debug", &has_value) != NULL && !has_value) {
		a->debug = true;
		return (0);
	}
	for (n = 0; n < sizeof string_flags / sizeof string_flags[0]; n++) {
		if ((value = flag_match(arg, string_flags[n].name,
		    &has_value)) == NULL)
			continue;
		if (!has_value) {
			if (*i + 1 >= argc) {
				fprintf(stderr, LAUNCHER_NAME ": %s needs a "
				    "value\n", arg);
				return (-1);
			}
			value = argv[++*i];
		}
		*(const char **)((char *)a + string_flags[n].offset) = value;
		return (0);
	}
	fprintf(stderr, LAUNCHER_NAME ": unknown flag %s\n", arg);
	return (-1);
}

/* Fill a from the command line; exits for --help, -v and usage errors. */
static void
parse_args(int argc, char **argv, struct launcher_args *a)
{
	bool	has_value;
	int	i;

	memset(a, 0, sizeof *a);
	for (i = 1; i < argc && a->action == NULL; i++) {
		if (flag_match(argv[i], "help", &has_value) != NULL ||
		    flag_match(argv[i], "h", &has_value) != NULL) {
			usage(stdout);
			exit(0);
		}
		if (flag_match(argv[i], "v", &has_value) != NULL ||
		    flag_match(argv[i], "version", &has_value) != NULL) {
			printf(LAUNCHER_NAME " %s\n", SANDBOXD_VERSION);
			exit(0);
		}
		if (argv[i][0] != '-')
			a->action = argv[i];
		else if (parse_flag(argc, argv, &i, a) == -1)
			exit(2);
	}
	if (a->action == NULL || i != argc) {
		usage(stderr);
		exit(2);
	}
	if (a->namespace == NULL)
		a->namespace = getenv("NAMESPACE");
	if (a->namespace == NULL || *a->namespace == '\0')
		a->namespace = SBC_DEFAULT_NAMESPACE;
}

/*
 * containerd writes the runtime options to stdin and closes it; sandboxd
 * needs none.  Read them away, but never wait long for an EOF that a
 * caller other than containerd may never send.
 */
static void
drain_stdin(void)
{
	struct pollfd	pfd = { STDIN_FILENO, POLLIN, 0 };
	int64_t		deadline = now_ms() + STDIN_TIMEOUT_MS;
	char		buf[4096];
	ssize_t		n;
	int		left;

	if (isatty(STDIN_FILENO))
		return;
	while ((left = (int)(deadline - now_ms())) > 0) {
		if (poll(&pfd, 1, left) <= 0)
			return;
		n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

/* Connect to sandboxd, retrying until the deadline; NULL with *cause. */
static struct sbc *
connect_until(const char *socket, const char *ns, int64_t deadline,
    char **cause)
{
	struct sbc	*c;

	for (;;) {
		*cause = NULL;
		if ((c = sbc_connect(socket, cause)) != NULL)
			break;
		if (now_ms() + RETRY_INTERVAL_MS >= deadline)
			return (NULL);
		free(*cause);
		usleep(RETRY_INTERVAL_MS * 1000);
	}
	sbc_set_namespace(c, ns);
	sbc_set_timeout(c, (int)(deadline - now_ms() > 1 ?
	    deadline - now_ms() : 1));
	return (c);
}

/* Write the address into <bundle>/address, replacing it whole. */
static int
write_address_file(const char *address)
{
	static const char	 tmp[] = "address.tmp", final[] = "address";
	size_t			 len = strlen(address);
	int			 fd;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return (-1);
	if (write(fd, address, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		unlink(tmp);
		return (-1);
	}
	close(fd);
	return (rename(tmp, final));
}

/*
 * Tell sandboxd where containerd's events service is (TTRPC_ADDRESS, set
 * by containerd's shim manager).  Without it no task event reaches
 * containerd, so a refusal fails "start"; a sandboxd too old to know the
 * call (Unimplemented) serves pods without events, as before.
 */
static int
set_events_address(struct sbc *c, struct sbc_error *err)
{
	sv_SetEventsAddressRequest	 req = {0};
	sv_SetEventsAddressResponse	 resp = {0};
	struct sbc_reply		 reply;
	const char			*addr = getenv(TTRPC_ADDRESS_ENV);
	int				 code;

	if (addr == NULL || *addr == '\0')
		return (0);
	if (strlen(addr) >= sizeof(req.address))
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    TTRPC_ADDRESS_ENV " too long: %s", addr));
	memcpy(req.address, addr, strlen(addr) + 1);
	code = sbc_call(c, SERVICE_ADMIN, "SetEventsAddress",
	    sv_SetEventsAddressRequest_fields, &req,
	    sv_SetEventsAddressResponse_fields, &resp, &reply, err);
	sbc_reply_free(&reply);
	if (code == STATUS_UNIMPLEMENTED) {
		sbc_error_clear(err);
		return (0);
	}
	return (code);
}

/* "start": sandboxd must answer; then publish its address. */
static int
do_start(const struct launcher_args *a, const char *socket)
{
	struct sbc_error	 err = {0};
	struct sbc		*c;
	char			*cause, *address;
	int			 code;

	drain_stdin();
	if (socket[0] != '/') {
		fprintf(stderr, LAUNCHER_NAME ": sandboxd's socket must be an "
		    "absolute path: %s\n", socket);
		return (1);
	}
	if ((c = connect_until(socket, a->namespace,
	    now_ms() + START_TIMEOUT_MS, &cause)) == NULL) {
		fprintf(stderr, LAUNCHER_NAME ": sandboxd is not running: "
		    "%s\n", cause);
		free(cause);
		return (1);
	}
	/* Any status from the daemon proves it serves the shim API. */
	code = sbc_shim_ping(c, a->id != NULL ? a->id : "-", &err);
	if (code < 0) {
		sbc_close(c);
		fprintf(stderr, LAUNCHER_NAME ": sandboxd at %s does not "
		    "answer: %s\n", socket, err.message);
		sbc_error_clear(&err);
		return (1);
	}
	sbc_error_clear(&err);
	code = set_events_address(c, &err);
	sbc_close(c);
	if (code != 0) {
		fprintf(stderr, LAUNCHER_NAME ": sandboxd at %s refused "
		    "containerd's events address: %s\n", socket, err.message);
		sbc_error_clear(&err);
		return (1);
	}
	if (asprintf(&address, "unix://%s", socket) == -1)
		return (1);
	if (write_address_file(address) == -1) {
		fprintf(stderr, LAUNCHER_NAME ": write address file: %s\n",
		    strerror(errno));
		free(address);
		return (1);
	}
	fputs(address, stdout);
	free(address);
	return (fflush(stdout) == 0 ? 0 : 1);
}

/* Print a DeleteResponse; an all-zero one is empty, as protobuf has it. */
static int
print_delete_response(uint32_t pid, uint32_t status,
    const struct timespec *exited_at)
{
	ctv_DeleteResponse	 resp = {0};
	uint8_t			*buf;
	size_t			 len;
	char			*cause;

	resp.pid = pid;
	resp.exit_status = status;
	if (exited_at != NULL && exited_at->tv_sec != 0) {
		resp.has_exited_at = true;
		resp.exited_at.seconds = exited_at->tv_sec;
		resp.exited_at.nanos = (int32_t)exited_at->tv_nsec;
	}
	if (!msg_encode(ctv_DeleteResponse_fields, &resp, &buf, &len,
	    &cause)) {
		fprintf(stderr, LAUNCHER_NAME ": %s\n", cause);
		free(cause);
		return (1);
	}
	if (len > 0 && fwrite(buf, 1, len, stdout) != len) {
		free(buf);
		return (1);
	}
	free(buf);
	return (fflush(stdout) == 0 ? 0 : 1);
}

/*
 * Kill what still runs, learn how it ended, forget it: Stop with no grace
 * (containerd already gave the pod its grace period, or lost it), Wait,
 * Shutdown.  A sandbox that is already gone is not an error.
 */
static int
shut_down(struct sbc *c, const char *id, uint32_t *pid, uint32_t *status,
    struct timespec *exited_at, struct sbc_error *err)
{
	struct sbc_status	st = {0};
	int			code;

	if ((code = sbc_shim_status(c, id, false, &st, err)) != 0)
		return (code);
	*pid = st.pid;
	sbc_status_free(&st);
	if (*pid == 0)		/* never started: nothing to stop or wait for */
		return (sbc_shim_shutdown(c, id, err));
	if ((code = sbc_shim_stop(c, id, 0, err)) != 0 ||
	    (code = sbc_shim_wait(c, id, status, exited_at, err)) != 0)
		return (code);
	return (sbc_shim_shutdown(c, id, err));
}

/* "delete": make sure sandboxd no longer runs the sandbox. */
static int
do_delete(const struct launcher_args *a, const char *socket)
{
	struct sbc_error	 err = {0};
	struct timespec		 exited_at = {0};
	struct sbc		*c;
	uint32_t		 pid = 0, status = 0;
	char			*cause;
	int			 code;

	if (a->id == NULL) {
		fprintf(stderr, LAUNCHER_NAME ": delete needs -id\n");
		return (2);
	}
	if ((c = connect_until(socket, a->namespace,
	    now_ms() + DELETE_BUDGET_MS, &cause)) == NULL) {
		/*
		 * sandboxd is down (restarting after a crash, say).  When it
		 * comes back it shuts down every shim sandbox whose bundle is
		 * gone, and containerd removes the bundle once we succeed.
		 */
		fprintf(stderr, LAUNCHER_NAME ": sandboxd did not answer (%s); "
		    "it shuts sandbox %s down when it starts\n", cause, a->id);
		free(cause);
		return (print_delete_response(0, 0, NULL));
	}
	code = shut_down(c, a->id, &pid, &status, &exited_at, &err);
	sbc_close(c);
	if (code == STATUS_NOT_FOUND) {
		sbc_error_clear(&err);
		return (print_delete_response(0, 0, NULL));
	}
	if (code != 0) {
		fprintf(stderr, LAUNCHER_NAME ": shut down sandbox %s: %s\n",
		    a->id, err.message);
		sbc_error_clear(&err);
		return (1);
	}
	return (print_delete_response(pid, status, &exited_at));
}

int
main(int argc, char **argv)
{
	struct launcher_args	a;
	char			socket[4096];

	parse_args(argc, argv, &a);
	sbc_default_socket(socket, sizeof socket);
	if (a.bundle != NULL && chdir(a.bundle) == -1) {
		fprintf(stderr, LAUNCHER_NAME ": chdir %s: %s\n", a.bundle,
		    strerror(errno));
		return (1);
	}
	if (strcmp(a.action, "start") == 0)
		return (do_start(&a, socket));
	if (strcmp(a.action, "delete") == 0)
		return (do_delete(&a, socket));
	fprintf(stderr, LAUNCHER_NAME ": unknown action \"%s\"\n", a.action);
	usage(stderr);
	return (2);
}
