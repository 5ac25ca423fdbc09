/*
 * benchutil_proc.c: what /proc says about a process: its children, its
 * memory, open files, CPU time and scheduling delay.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "procmgr.h"

/*
 * Call fn(pid, state letter, arg) for every process whose parent is ppid,
 * found by a walk of /proc.
 */
void
bench_for_children(pid_t ppid, void (*fn)(pid_t, char, void *), void *arg)
{
	struct dirent	*de;
	DIR		*dir;
	pid_t		 pid, parent;
	char		 state;

	if ((dir = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) > 0 &&
		    proc_read_parent(pid, &parent, &state) == 0 &&
		    parent == ppid)
			fn(pid, state, arg);
	}
	closedir(dir);
}

/* The number after "key" in a /proc file of "key: value kB" lines. */
static long
kib_field(const char *path, const char *key)
{
	char	 line[256];
	size_t	 len = strlen(key);
	long	 v = -1;
	FILE	*f;

	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (v);
}

/*
 * A process's resident memory in KiB: VmRSS from status and Pss from
 * smaps_rollup (-1 where unreadable).  0, or -1 if the process is gone.
 */
int
bench_mem(pid_t pid, long *rss, long *pss)
{
	char	path[64];

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	*rss = kib_field(path, "VmRSS");
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	*pss = kib_field(path, "Pss");
	return (*rss < 0 ? -1 : 0);
}

/*
 * The KiB only this process maps (Private_Clean + Private_Dirty from
 * smaps_rollup): its own cost, whoever else shares its libraries; -1 if
 * unreadable.
 */
long
bench_private(pid_t pid)
{
	char	path[64];
	long	clean, dirty;

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	clean = kib_field(path, "Private_Clean");
	dirty = kib_field(path, "Private_Dirty");
	return (clean < 0 || dirty < 0 ? -1 : clean + dirty);
}

/*
 * The number of open file descriptors of a process, -1 if unreadable;
 * those on files under skip (NULL: none), e.g. LevelDB's, are not
 * counted: their number follows LevelDB's own compactions.
 */
int
bench_fd_count(pid_t pid, const char *skip)
{
	char		 path[64], link[PATH_MAX + 64], target[PATH_MAX];
	struct dirent	*de;
	DIR		*dir;
	ssize_t		 len;
	int		 n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return (-1);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", path, de->d_name);
		len = readlink(link, target, sizeof target - 1);
		target[len > 0 ? len : 0] = '\0';
		if (skip == NULL || strncmp(target, skip, strlen(skip)) != 0)
			n++;
	}
	closedir(dir);
	return (n);
}

/* CPU seconds (user + system, all threads) a process has used, or -1. */
double
bench_cpu_seconds(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	int			 n = 0;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	if (fgets(buf, sizeof buf, f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		n = sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu", &ut, &st);
	fclose(f);
	if (n != 2)
		return (-1);
	return ((double)(ut + st) / (double)sysconf(_SC_CLK_TCK));
}

/*
 * Seconds a process's main thread (the daemon's loop) has spent runnable
 * but waiting for a CPU (run_delay in /proc/<pid>/schedstat), or -1.
 */
double
bench_run_delay(pid_t pid)
{
	char			 path[64];
	unsigned long long	 run, delay;
	FILE			*f;
	int			 n;

	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return (-1);
	n = fscanf(f, "%llu %llu", &run, &delay);
	fclose(f);
	return (n == 2 ? (double)delay / 1e9 : -1);
}

/*
 * The memfd called name that pid holds open: its inode, the KiB it has
 * allocated (st_blocks: every page it holds, mapped or not) and its size
 * in KiB.  0, or -1 if pid holds no such memfd.
 */
int
bench_memfd(pid_t pid, const char *name, unsigned long *ino, long *kib,
    long *size)
{
	char		 dir[64], path[64 + 256], target[PATH_MAX];
	struct dirent	*de;
	struct stat	 st;
	DIR		*dp;
	ssize_t		 len;
	size_t		 nlen = strlen(name);
	int		 rc = -1;

	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	if ((dp = opendir(dir)) == NULL)
		return (-1);
	while (rc == -1 && (de = readdir(dp)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if ((len = readlink(path, target, sizeof target - 1)) <= 0)
			continue;
		target[len] = '\0';
		/* "/memfd:<name> (deleted)" */
		if (strncmp(target, "/memfd:", 7) != 0 ||
		    strncmp(target + 7, name, nlen) != 0 ||
		    target[7 + nlen] != ' ' || stat(path, &st) == -1)
			continue;
		*ino = (unsigned long)st.st_ino;
		*kib = (long)st.st_blocks / 2;
		*size = (long)(st.st_size / 1024);
		rc = 0;
	}
	closedir(dp);
	return (rc);
}

/*
 * The resident KiB (Rss and Pss) of pid's mappings of inode ino, from
 * /proc/<pid>/smaps; 0 and 0 if it maps none.
 */
void
bench_mapped(pid_t pid, unsigned long ino, long *rss, long *pss)
{
	char		 path[64], line[512];
	unsigned long	 i;
	bool		 inside = false;
	FILE		*f;

	*rss = *pss = 0;
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		/* A mapping's head: range perms offset dev inode [path]. */
		if (sscanf(line, "%*x-%*x %*s %*x %*s %lu", &i) == 1)
			inside = i == ino;
		else if (inside && strncmp(line, "Rss:", 4) == 0)
			*rss += strtol(line + 4, NULL, 10);
		else if (inside && strncmp(line, "Pss:", 4) == 0)
			*pss += strtol(line + 4, NULL, 10);
	}
	fclose(f);
}
