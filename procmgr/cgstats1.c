/*
 * cgstats1.c: a process's cgroup v1 controllers read into containerd's
 * io.containerd.cgroups.v1.Metrics.
 *
 * On a host whose controllers are cgroup v1 (legacy, or systemd's hybrid
 * layout where the cgroup2 tree holds none), runc puts a container in one
 * cgroup per controller, and containerd's runc shim answers Stats with the
 * v1 metrics; CRI reads either.  The controllers' directories come from
 * the pid's "N:controllers:/path" lines of /proc/<pid>/cgroup.  As in
 * containerd's reader, cpuacct.stat's ticks become nanoseconds and a
 * pids.max of "max" is 0 (no limit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgstats.h"
#include "cgstats_int.h"
#include "containerd/cgroups/v1/metrics.pb.h"
#include "pbutil.h"
#include "xmalloc.h"

#define NS_PER_SEC	1000000000ULL

/* memory.stat's names, where they differ from the message's. */
#define M1(k)		{ #k, offsetof(iccvs_MemoryStat, k) }
#define M1N(n, k)	{ n, offsetof(iccvs_MemoryStat, k) }
static const struct cg_key memory_keys[] = {
	M1(cache), M1(rss), M1(rss_huge), M1(mapped_file), M1(dirty),
	M1(writeback), M1N("pgpgin", pg_pg_in), M1N("pgpgout", pg_pg_out),
	M1N("pgfault", pg_fault), M1N("pgmajfault", pg_maj_fault),
	M1(inactive_anon), M1(active_anon), M1(inactive_file),
	M1(active_file), M1(unevictable), M1(hierarchical_memory_limit),
	M1N("hierarchical_memsw_limit", hierarchical_swap_limit),
	M1(total_cache), M1(total_rss), M1(total_rss_huge),
	M1(total_mapped_file), M1(total_dirty), M1(total_writeback),
	M1N("total_pgpgin", total_pg_pg_in),
	M1N("total_pgpgout", total_pg_pg_out),
	M1N("total_pgfault", total_pg_fault),
	M1N("total_pgmajfault", total_pg_maj_fault),
	M1(total_inactive_anon), M1(total_active_anon),
	M1(total_inactive_file), M1(total_active_file), M1(total_unevictable),
};

static const struct cg_key throttle_keys[] = {
	{ "nr_periods", offsetof(iccvs_Throttle, periods) },
	{ "nr_throttled", offsetof(iccvs_Throttle, throttled_periods) },
	{ "throttled_time", offsetof(iccvs_Throttle, throttled_time) },
};

static const struct cg_key oom_keys[] = {
	{ "oom_kill_disable", offsetof(iccvs_MemoryOomControl, oom_kill_disable) },
	{ "under_oom", offsetof(iccvs_MemoryOomControl, under_oom) },
	{ "oom_kill", offsetof(iccvs_MemoryOomControl, oom_kill) },
};

/* cpuacct.stat's "user" and "system" are in clock ticks. */
struct cpuacct_ticks {
	uint64_t	user;
	uint64_t	system;
};

static const struct cg_key tick_keys[] = {
	{ "user", offsetof(struct cpuacct_ticks, user) },
	{ "system", offsetof(struct cpuacct_ticks, system) },
};

/* Open a controller's directory; -1 if it is not there. */
static int
cg1_open(const char *dir)
{
	if (dir == NULL)
		return (-1);
	return (open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* pids.current and pids.max; false without the pids controller. */
static bool
cg1_pids(const char *dir, iccvs_PidsStat *p)
{
	char	buf[64];
	bool	found;
	int	fd;

	if ((fd = cg1_open(dir)) == -1)
		return (false);
	if ((found = cg_read_value(fd, "pids.current", &p->current)) &&
	    cg_read(fd, "pids.max", buf, sizeof(buf)) &&
	    strncmp(buf, "max", 3) != 0)
		p->limit = cg_value(buf);
	close(fd);
	return (found);
}

/* cpuacct's usage (ns) and cpu's throttling; false without either. */
static bool
cg1_cpu(const struct cg1_dirs *d, iccvs_CPUStat *c)
{
	struct cpuacct_ticks	t = { 0, 0 };
	long			hz = sysconf(_SC_CLK_TCK);
	bool			found = false;
	int			fd;

	if ((fd = cg1_open(d->cpuacct)) != -1) {
		c->has_usage = cg_read_value(fd, "cpuacct.usage",
		    &c->usage.total);
		if (cg_read_keyed(fd, "cpuacct.stat", tick_keys,
		    CG_NKEYS(tick_keys), &t) && hz > 0) {
			c->usage.user = t.user * NS_PER_SEC / (uint64_t)hz;
			c->usage.kernel = t.system * NS_PER_SEC / (uint64_t)hz;
			c->has_usage = true;
		}
		found = c->has_usage;
		close(fd);
	}
	if ((fd = cg1_open(d->cpu)) != -1) {
		c->has_throttling = cg_read_keyed(fd, "cpu.stat",
		    throttle_keys, CG_NKEYS(throttle_keys), &c->throttling);
		found |= c->has_throttling;
		close(fd);
	}
	return (found);
}

/* One of memory's usage/limit/max/failcnt quadruples; false if absent. */
static bool
cg1_memory_entry(int fd, const char *prefix, iccvs_MemoryEntry *e)
{
	char	name[64];

	snprintf(name, sizeof(name), "%s.usage_in_bytes", prefix);
	if (!cg_read_value(fd, name, &e->usage))
		return (false);
	snprintf(name, sizeof(name), "%s.limit_in_bytes", prefix);
	cg_read_value(fd, name, &e->limit);
	snprintf(name, sizeof(name), "%s.max_usage_in_bytes", prefix);
	cg_read_value(fd, name, &e->max);
	snprintf(name, sizeof(name), "%s.failcnt", prefix);
	cg_read_value(fd, name, &e->failcnt);
	return (true);
}

/* The memory controller's files; false without it. */
static bool
cg1_memory(const char *dir, iccvs_Metrics *m)
{
	iccvs_MemoryStat	*s = &m->memory;
	int			 fd;

	if ((fd = cg1_open(dir)) == -1)
		return (false);
	m->has_memory = cg_read_keyed(fd, "memory.stat", memory_keys,
	    CG_NKEYS(memory_keys), s);
	s->has_usage = cg1_memory_entry(fd, "memory", &s->usage);
	s->has_swap = cg1_memory_entry(fd, "memory.memsw", &s->swap);
	s->has_kernel = cg1_memory_entry(fd, "memory.kmem", &s->kernel);
	s->has_kernel_tcp = cg1_memory_entry(fd, "memory.kmem.tcp",
	    &s->kernel_tcp);
	m->has_memory |= s->has_usage;
	m->has_memory_oom_control = cg_read_keyed(fd, "memory.oom_control",
	    oom_keys, CG_NKEYS(oom_keys), &m->memory_oom_control);
	close(fd);
	return (m->has_memory);
}

/* Encode the metrics of the v1 controllers in d. */
int
cg1_encode(const struct cg1_dirs *d, uint8_t **value, size_t *len,
    char **err)
{
	iccvs_Metrics	 m;
	char		*cause = NULL;

	memset(&m, 0, sizeof(m));
	m.has_pids = cg1_pids(d->pids, &m.pids);
	m.has_cpu = cg1_cpu(d, &m.cpu);
	cg1_memory(d->memory, &m);
	if (!msg_encode(iccvs_Metrics_fields, &m, value, len, &cause)) {
		xasprintf(err, "encode cgroup v1 metrics: %s", cause);
		free(cause);
		return (-1);
	}
	return (0);
}

/*
 * The directory of controller ctl for one /proc/<pid>/cgroup line whose
 * controller list is list: /sys/fs/cgroup/<list><path>, or, where the
 * hierarchy is mounted under the controller's own name, .../<ctl><path>.
 */
static char *
cg1_dir(const char *list, const char *ctl, const char *path)
{
	struct stat	 st;
	char		*dir;

	xasprintf(&dir, CGROUP_ROOT "/%s%s", list, path);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return (dir);
	free(dir);
	xasprintf(&dir, CGROUP_ROOT "/%s%s", ctl, path);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return (dir);
	free(dir);
	return (NULL);
}

/* Whether the comma-separated list names ctl. */
static bool
cg1_list_has(const char *list, const char *ctl)
{
	size_t		len = strlen(ctl);
	const char	*p;

	for (p = list; (p = strstr(p, ctl)) != NULL; p += len) {
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return (true);
	}
	return (false);
}

/* Fill d from one "N:list:/path" line. */
static void
cg1_dirs_line(char *line, struct cg1_dirs *d)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} ctls[] = {
		{ "pids", offsetof(struct cg1_dirs, pids) },
		{ "cpu", offsetof(struct cg1_dirs, cpu) },
		{ "cpuacct", offsetof(struct cg1_dirs, cpuacct) },
		{ "memory", offsetof(struct cg1_dirs, memory) },
	};
	char	*list, *path, **slot;
	size_t	 i;

	if ((list = strchr(line, ':')) == NULL ||
	    (path = strchr(++list, ':')) == NULL)
		return;
	*path++ = '\0';
	if (*list == '\0' || *path != '/')
		return;		/* the cgroup2 line, or a named hierarchy */
	for (i = 0; i < CG_NKEYS(ctls); i++) {
		slot = (char **)((char *)d + ctls[i].offset);
		if (*slot == NULL && cg1_list_has(list, ctls[i].name))
			*slot = cg1_dir(list, ctls[i].name, path);
	}
}

/* pid's v1 controller directories (each NULL if it has none). */
int
cg1_dirs_for_pid(pid_t pid, struct cg1_dirs *d, char **err)
{
	char	 file[64], *line = NULL;
	size_t	 size = 0;
	ssize_t	 n;
	FILE	*f;

	memset(d, 0, sizeof(*d));
	snprintf(file, sizeof(file), "/proc/%ld/cgroup", (long)pid);
	if ((f = fopen(file, "re")) == NULL) {
		xasprintf(err, "%s: %s", file, strerror(errno));
		return (-1);
	}
	while ((n = getline(&line, &size, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		cg1_dirs_line(line, d);
	}
	free(line);
	fclose(f);
	return (0);
}

void
cg1_dirs_free(struct cg1_dirs *d)
{
	free(d->pids);
	free(d->cpu);
	free(d->cpuacct);
	free(d->memory);
	memset(d, 0, sizeof(*d));
}
