/*
 * test_socket.c: who may reach the daemon (spec section 9): the socket's
 * mode and group, its directory's, and restrict_peers, tried by clients
 * running as another user.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "protocol.h"
#include "sbc.h"

#define NOBODY		65534		/* uid and gid of nobody/nogroup */
#define PEER_GROUP	"adm"		/* a group every Debian has */

/* How a client child ended: its Store.List code, or it could not connect. */
#define CHILD_NO_CONNECT	100

TestSuite(socket, .fini = itest_teardown);

/* The gid of PEER_GROUP; skip without it. */
static gid_t
peer_gid(void)
{
	struct group	*gr = getgrnam(PEER_GROUP);

	if (gr == NULL)
		cr_skip_test("no group %s here", PEER_GROUP);
	return (gr->gr_gid);
}

/*
 * In a child running as uid with primary gid and the supplementary
 * groups given, connect and List: the call's code, or CHILD_NO_CONNECT.
 */
static int
list_as(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	struct sbc_error	 err = {0};
	struct sbc_meta		*list = NULL;
	struct sbc		*c;
	size_t			 n = 0;
	char			*cause = NULL;
	pid_t			 pid;
	int			 st, code;

	if ((pid = fork()) == 0) {
		if (setgroups(ngroups, groups) == -1 || setgid(gid) == -1 ||
		    setuid(uid) == -1)
			_exit(101);
		if ((c = sbc_connect(itest_d.socket, &cause)) == NULL)
			_exit(CHILD_NO_CONNECT);
		code = sbc_store_list(c, NULL, 0, &list, &n, &err);
		_exit(code >= 0 && code < 100 ? code : 102);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "the client child died");
	cr_assert_neq(WEXITSTATUS(st), 101, "cannot become uid %d",
	    (int)uid);
	return (WEXITSTATUS(st));
}

/* Defaults: socket 0660 in a 0700 directory; root connects, nobody not. */
Test(socket, default_modes, .timeout = 30)
{
	struct stat	sb;
	gid_t		none[] = { NOBODY };

	ITEST_NEEDS_ROOT("switching users");
	itest_daemon_start_config(&itest_d, "# defaults\n");
	cr_assert_eq(stat(itest_d.socket, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	cr_assert_eq(sb.st_mode & 07777, 0660, "socket mode %o",
	    sb.st_mode & 07777);
	cr_assert_eq(stat(itest_d.run_dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "directory mode %o",
	    sb.st_mode & 07777);
	cr_assert_eq(list_as(0, 0, NULL, 0), 0);
	cr_assert_eq(list_as(NOBODY, NOBODY, none, 1), CHILD_NO_CONNECT);
}

/*
 * socket.group: socket and its directory (the run directory, made
 * before the socket) go to the group, 0660 and 0750; a member reaches
 * the daemon, others do not.
 */
Test(socket, group_reaches_socket, .timeout = 30)
{
	struct stat	sb;
	gid_t		gid = peer_gid(), member[] = { gid }, none[] = { NOBODY };

	ITEST_NEEDS_ROOT("switching users");
	itest_daemon_start_config(&itest_d, "[socket]\ngroup = " PEER_GROUP "\n");
	cr_assert_eq(stat(itest_d.socket, &sb), 0);
	cr_assert_eq(sb.st_gid, gid);
	cr_assert_eq(sb.st_mode & 07777, 0660);
	cr_assert_eq(stat(itest_d.run_dir, &sb), 0);
	cr_assert_eq(sb.st_gid, gid, "the run directory's group is %d",
	    (int)sb.st_gid);
	cr_assert_eq(sb.st_mode & 07777, 0750, "directory mode %o",
	    sb.st_mode & 07777);
	cr_assert_eq(list_as(NOBODY, NOBODY, member, 1), 0,
	    "a member of the socket's group was refused");
	cr_assert_eq(list_as(NOBODY, NOBODY, none, 1), CHILD_NO_CONNECT);
}

/*
 * restrict_peers: uid 0 and peers whose primary gid is the socket's group
 * are served; a peer that reached the socket through a supplementary
 * group is answered PermissionDenied, and the daemon serves on.
 */
Test(socket, restrict_peers, .timeout = 30)
{
	gid_t	gid = peer_gid(), member[] = { gid };

	ITEST_NEEDS_ROOT("switching users");
	itest_daemon_start_config(&itest_d, "[socket]\ngroup = " PEER_GROUP "\n"
	    "restrict_peers = true\n");
	cr_assert_eq(list_as(NOBODY, gid, member, 1), 0,
	    "a peer with the group as primary gid was refused");
	cr_assert_eq(list_as(NOBODY, NOBODY, member, 1),
	    STATUS_PERMISSION_DENIED);
	cr_assert_eq(list_as(0, 0, NULL, 0), 0);
	cr_assert(itest_daemon_running(&itest_d));
}
