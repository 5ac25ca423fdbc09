/*
 * proc_read.c: what /proc says about a process: its start time (which
 * tells a reused pid from the one recorded), parent, state, name, the
 * exit code a zombie shows, and the resource use of it and its
 * descendants.  Every reader fails with -1 once the process is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procint.h"
#include "procmgr_test.h"
#include "xmalloc.h"

#define PROC_USAGE_MAX	4096	/* processes walked by proc_read_usage */

static int	 proc_children_file = -1; /* task/<tid>/children readable */

/*
 * The next number of a /proc/<pid>/stat line, after the spaces before
 * it; -1 if there is none.  strtoll, not sscanf: recovery parses one line
 * per sandbox, thousands at start.
 */
static int
stat_next(const char **s, int64_t *v)
{
	char	*end;

	errno = 0;
	*v = strtoll(*s, &end, 10);
	if (end == *s || errno != 0)
		return (-1);
	*s = end;
	return (0);
}

/* Skip n space-separated fields. */
static int
stat_skip(const char **s, int n)
{
	while (n-- > 0) {
		while (**s == ' ')
			(*s)++;
		if (**s == '\0')
			return (-1);
		while (**s != ' ' && **s != '\0')
			(*s)++;
	}
	return (0);
}

/* Parse the fields after the ')' closing comm in /proc/<pid>/stat. */
static int
proc_parse_stat(const char *s, struct proc_stat *st)
{
	int64_t	ppid, utime, stime, cutime, cstime, start, rss;

	/* Fields 3-24: state, ppid, 9 skipped, utime..cstime, 4 skipped,
	 * starttime, vsize skipped, rss. */
	while (*s == ' ')
		s++;
	if (*s == '\0')
		return (-1);
	st->state = *s++;
	if (stat_next(&s, &ppid) == -1 || stat_skip(&s, 9) == -1 ||
	    stat_next(&s, &utime) == -1 || stat_next(&s, &stime) == -1 ||
	    stat_next(&s, &cutime) == -1 || stat_next(&s, &cstime) == -1 ||
	    stat_skip(&s, 4) == -1 || stat_next(&s, &start) == -1 ||
	    stat_skip(&s, 1) == -1 || stat_next(&s, &rss) == -1)
		return (-1);
	st->ppid = (pid_t)ppid;
	st->utime = utime > 0 ? (uint64_t)utime : 0;
	st->stime = stime > 0 ? (uint64_t)stime : 0;
	st->cutime = cutime > 0 ? (uint64_t)cutime : 0;
	st->cstime = cstime > 0 ? (uint64_t)cstime : 0;
	st->start_time = start > 0 ? (uint64_t)start : 0;
	st->rss = rss > 0 ? (uint64_t)rss : 0;
	return (0);
}

/* Read a small /proc file into buf, NUL-terminated; -1 if it is gone. */
static int
proc_read_file(const char *path, char *buf, size_t size)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (0);
}

/* Read /proc/<pid>/stat; comm may hold spaces and parens. */
int
proc_read_stat(pid_t pid, struct proc_stat *st)
{
	char	path[64], buf[2048], *s;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (proc_read_file(path, buf, sizeof buf) == -1)
		return (-1);
	if ((s = strrchr(buf, ')')) == NULL || proc_parse_stat(s + 1, st) != 0) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

/*
 * State, start time and exit code (fields 3, 22 and 52: a wait status,
 * set once the process has exited) of pid; -1 if it is gone.
 */
int
proc_read_exit_code(pid_t pid, uint64_t *start_time, char *state, int *code)
{
	char		 path[64], buf[2048];
	const char	*s;
	int64_t		 start, v;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (proc_read_file(path, buf, sizeof buf) == -1)
		return (-1);
	if ((s = strrchr(buf, ')')) == NULL)
		goto bad;
	for (s++; *s == ' '; s++)
		;
	if (*s == '\0')
		goto bad;
	*state = *s++;
	if (stat_skip(&s, 18) == -1 || stat_next(&s, &start) == -1 ||
	    stat_skip(&s, 29) == -1 || stat_next(&s, &v) == -1)
		goto bad;
	*start_time = start > 0 ? (uint64_t)start : 0;
	*code = (int)v;
	return (0);
bad:
	errno = EINVAL;
	return (-1);
}

/* Start time of pid in clock ticks since boot (stat field 22). */
int
proc_read_start_time(pid_t pid, uint64_t *t)
{
	struct proc_stat	st;

	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	*t = st.start_time;
	return (0);
}

/* The parent and state letter of pid (/proc/<pid>/stat); -1 if gone. */
int
proc_read_parent(pid_t pid, pid_t *ppid, char *state)
{
	struct proc_stat	st;

	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	*ppid = st.ppid;
	*state = st.state;
	return (0);
}

/*
 * Is pid one of the daemon's own helpers, no sandbox: the netns helper,
 * or sandboxd-keeper (spawned by the daemon, so its child until the
 * daemon dies)?
 */
bool
proc_is_daemon_helper(pid_t pid)
{
	char	comm[64];

	return (proc_read_comm(pid, comm, sizeof comm) == 0 &&
	    (strcmp(comm, NETNS_WORKER_NAME) == 0 ||
	    strcmp(comm, KEEPER_PROGRAM_NAME) == 0));
}

/* The command name of pid (/proc/<pid>/comm, no newline); -1 if gone. */
int
proc_read_comm(pid_t pid, char *buf, size_t size)
{
	char	path[64];

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (proc_read_file(path, buf, size) == -1)
		return (-1);
	buf[strcspn(buf, "\n")] = '\0';
	return (0);
}

/* Add the children of pid to the list; the task/<tid>/children files. */
static int
proc_children_tasks(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	char		 path[320], buf[4096], *s, *end;	/* d_name: 256 */
	struct dirent	*de;
	DIR		*d;
	long		 c;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL && *len < PROC_USAGE_MAX) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/children",
		    (int)pid, de->d_name);
		if (proc_read_file(path, buf, sizeof buf) == -1)
			continue;
		for (s = buf; *len < PROC_USAGE_MAX; s = end) {
			c = strtol(s, &end, 10);
			if (end == s || c <= 0)
				break;
			if (*len == *cap)
				*list = xreallocarray(*list, *cap *= 2,
				    sizeof **list);
			(*list)[(*len)++] = (pid_t)c;
		}
	}
	closedir(d);
	return (0);
}

/* Add the children of pid to the list; a scan of /proc for its ppid. */
static int
proc_children_scan(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	struct proc_stat	 st;
	struct dirent		*de;
	DIR			*d;
	long			 c;
	char			*end;

	if ((d = opendir("/proc")) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL && *len < PROC_USAGE_MAX) {
		c = strtol(de->d_name, &end, 10);
		if (*end != '\0' || c <= 0 ||
		    proc_read_stat((pid_t)c, &st) == -1 || st.ppid != pid)
			continue;
		if (*len == *cap)
			*list = xreallocarray(*list, *cap *= 2, sizeof **list);
		(*list)[(*len)++] = (pid_t)c;
	}
	closedir(d);
	return (0);
}

/* Add the children of pid to the list, whichever way the kernel allows. */
static void
proc_children(pid_t pid, pid_t **list, size_t *len, size_t *cap)
{
	char	path[64];

	if (proc_children_file == -1) {
		snprintf(path, sizeof path, "/proc/%d/task/%d/children",
		    (int)getpid(), (int)getpid());
		proc_children_file = access(path, R_OK) == 0;
	}
	if (proc_children_file)
		proc_children_tasks(pid, list, len, cap);
	else
		proc_children_scan(pid, list, len, cap);
}

/*
 * CPU time, RSS and process count of pid and its descendants (at most
 * PROC_USAGE_MAX processes).  CPU time includes the reaped children of
 * each (cutime/cstime), so it does not fall when a process exits.  RSS
 * is the plain sum, shared pages counted in each process.
 */
int
proc_read_usage(pid_t pid, struct proc_usage *u)
{
	struct proc_stat	 st;
	pid_t			*list;
	size_t			 i, len = 1, cap = 16;
	uint64_t		 user = 0, sys = 0, hz, page;

	memset(u, 0, sizeof *u);
	if (proc_read_stat(pid, &st) == -1)
		return (-1);
	hz = sysconf(_SC_CLK_TCK) > 0 ? (uint64_t)sysconf(_SC_CLK_TCK) : 100;
	page = (uint64_t)getpagesize();
	list = xreallocarray(NULL, cap, sizeof *list);
	list[0] = pid;
	for (i = 0; i < len; i++) {
		if (proc_read_stat(list[i], &st) == -1)
			continue;	/* exited meanwhile */
		user += st.utime + st.cutime;
		sys += st.stime + st.cstime;
		u->rss_bytes += st.rss * page;
		u->pids++;
		proc_children(list[i], &list, &len, &cap);
	}
	free(list);
	u->cpu_user_ns = user * (1000000000ULL / hz);
	u->cpu_system_ns = sys * (1000000000ULL / hz);
	return (0);
}
