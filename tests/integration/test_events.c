/*
 * test_events.c: containerd's TTRPC_ADDRESS reaching the daemon.
 *
 * The shim launcher's "start", run with TTRPC_ADDRESS in its environment
 * as containerd's shim manager runs it, hands the address to sandboxd
 * (Admin/SetEventsAddress).  The daemon then connects there to publish
 * task events: the test listens on that address and sees it connect, and
 * connect again after a restart (the address is saved in the state dir).
 * An address that is not a socket path fails "start" and changes nothing;
 * only root and the daemon's user may set it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "sandboxd/v1/admin.pb.h"

TestSuite(events, .init = itest_setup, .fini = itest_teardown);

#define PEER_GROUP	"adm"		/* a group every Debian has */

/* What a launcher run printed and how it ended. */
struct launched {
	char	out[4096];
	size_t	len;
	int	status;		/* exit code, or -1 */
};

/* Run the launcher's "start" with TTRPC_ADDRESS=ttrpc (NULL: unset). */
static void
launch_start(const char *ttrpc, struct launched *r)
{
	const char	*bin = getenv("SANDBOXD_SHIM_BIN");
	pid_t		 pid;
	ssize_t		 n;
	int		 p[2], fd, status;

	cr_assert_not_null(bin, "SANDBOXD_SHIM_BIN is not set");
	cr_assert_eq(pipe(p), 0);
	cr_assert_neq(pid = fork(), -1);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		if (chdir(itest_d.dir) == -1 ||
		    setenv("SANDBOXD_SOCKET", itest_d.socket, 1) == -1)
			_exit(99);
		if (ttrpc != NULL)
			setenv("TTRPC_ADDRESS", ttrpc, 1);
		else
			unsetenv("TTRPC_ADDRESS");
		execl(bin, bin, "-namespace", "k8s.io", "-id", "evpod",
		    "start", (char *)NULL);
		_exit(98);
	}
	close(p[1]);
	r->len = 0;
	while ((n = read(p[0], r->out + r->len,
	    sizeof(r->out) - 1 - r->len)) > 0)
		r->len += (size_t)n;
	r->out[r->len] = '\0';
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A listening socket standing in for containerd's ttrpc socket. */
static int
fake_listen(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert_lt(strlen(path), sizeof(sun.sun_path), "socket path too long: %s",
	    path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_neq(fd, -1);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "bind %s: %s", path, strerror(errno));
	cr_assert_eq(listen(fd, 4), 0);
	return (fd);
}

/* Whether the daemon connects to lfd within ms milliseconds. */
static bool
accepted_within(int lfd, int ms)
{
	struct pollfd	pfd = { lfd, POLLIN, 0 };
	int		fd;

	if (poll(&pfd, 1, ms) != 1)
		return (false);
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return (false);
	close(fd);
	return (true);
}

/* The saved address, or "" if there is none. */
static void
saved_address(char *buf, size_t size)
{
	char	path[PATH_MAX + 32];
	ssize_t	n = 0;
	int	fd;

	snprintf(path, sizeof(path), "%s/events-address", itest_d.state_dir);
	if ((fd = open(path, O_RDONLY)) != -1) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
}

Test(events, launcher_hands_over_the_address, .timeout = 60)
{
	struct launched	r;
	char		ttrpc[PATH_MAX], want[PATH_MAX + 8], saved[PATH_MAX];
	int		lfd;

	snprintf(ttrpc, sizeof(ttrpc), "%s/containerd.sock.ttrpc", itest_d.dir);
	lfd = fake_listen(ttrpc);
	launch_start(ttrpc, &r);
	cr_assert_eq(r.status, 0, "start failed: %s", r.out);
	snprintf(want, sizeof(want), "unix://%s", itest_d.socket);
	cr_assert_str_eq(r.out, want, "start prints the address alone");
	saved_address(saved, sizeof(saved));
	cr_assert_str_eq(saved, ttrpc, "the address is saved before the answer");
	cr_assert(accepted_within(lfd, 5000),
	    "the daemon did not connect to containerd's ttrpc address");

	/* A restarted daemon knows the address without a launcher. */
	itest_daemon_restart(&itest_d);
	cr_assert(accepted_within(lfd, 5000),
	    "the restarted daemon did not connect to the saved address");

	/* Without TTRPC_ADDRESS, start works and changes nothing. */
	launch_start(NULL, &r);
	cr_assert_eq(r.status, 0, "start failed: %s", r.out);
	saved_address(saved, sizeof(saved));
	cr_assert_str_eq(saved, ttrpc);
	close(lfd);
}

Test(events, bad_address_fails_start, .timeout = 60)
{
	struct launched	r;
	char		saved[PATH_MAX];

	launch_start("relative/containerd.sock.ttrpc", &r);
	cr_assert_eq(r.status, 1, "start must fail: %s", r.out);
	cr_assert_eq(r.len, 0, "nothing on stdout when start fails");
	saved_address(saved, sizeof(saved));
	cr_assert_str_eq(saved, "", "a refused address is not saved");
	cr_assert(itest_daemon_running(&itest_d));
}

/* SetEventsAddress from a child running as uid:gid; the status code. */
static int
set_address_as(uid_t uid, gid_t gid, const char *addr)
{
	pid_t	pid;
	int	status;

	if ((pid = fork()) == 0) {
		sv_SetEventsAddressRequest	 req = {0};
		sv_SetEventsAddressResponse	 resp = {0};
		struct sbc_reply		 reply;
		struct sbc_error		 err = {0};
		struct sbc			*c;
		char				*cause = NULL;
		int				 code;

		if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
		    (uid != 0 && setuid(uid) == -1))
			_exit(101);
		if ((c = sbc_connect(itest_d.socket, &cause)) == NULL)
			_exit(102);
		snprintf(req.address, sizeof(req.address), "%s", addr);
		code = sbc_call(c, "sandboxd.v1.Admin", "SetEventsAddress",
		    sv_SetEventsAddressRequest_fields, &req,
		    sv_SetEventsAddressResponse_fields, &resp, &reply, &err);
		sbc_reply_free(&reply);
		_exit(code >= 0 && code < 100 ? code : 103);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return (WEXITSTATUS(status));
}

Test(events, only_root_sets_the_address, .timeout = 60)
{
	struct group	*gr = getgrnam(PEER_GROUP);
	char		 saved[PATH_MAX];

	ITEST_NEEDS_ROOT("switching users");
	if (gr == NULL)
		cr_skip_test("no group %s here", PEER_GROUP);
	itest_daemon_cleanup(&itest_d);
	itest_daemon_start_config(&itest_d, "[socket]\ngroup = " PEER_GROUP
	    "\n");
	cr_assert_eq(set_address_as(65534, gr->gr_gid, "/run/elsewhere.sock"),
	    7, "PermissionDenied for another user");
	saved_address(saved, sizeof(saved));
	cr_assert_str_eq(saved, "", "a refused address is not saved");
	cr_assert_eq(set_address_as(0, gr->gr_gid, "/run/elsewhere.sock"), 0);
	saved_address(saved, sizeof(saved));
	cr_assert_str_eq(saved, "/run/elsewhere.sock");
}
