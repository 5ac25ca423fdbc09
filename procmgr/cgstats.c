/*
 * cgstats.c: a cgroup v2 directory read into containerd's
 * io.containerd.cgroups.v2.Metrics.
 *
 * Each controller's files fill one submessage: pids.current/pids.max,
 * cpu.stat, memory.stat with memory.current/max and memory.swap.*,
 * memory.events, io.stat.  A file that is not there (the controller is not
 * enabled for the cgroup) leaves its submessage out; only a directory that
 * cannot be opened is an error.  "max" is read as UINT64_MAX, as
 * containerd's own reader has it, so that CRI sees "no limit" the same way.
 */
#include <sys/types.h>
#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/magic.h>

#include "cgstats.h"
#include "cgstats_int.h"
#include "containerd/cgroups/v2/metrics.pb.h"
#include "pbutil.h"
#include "xmalloc.h"

#define CGFILE_MAX	(64 * 1024)	/* memory.stat is ~2 KiB; io.stat grows per disk */

#define CPU_KEY(k)	{ #k, offsetof(iccv_CPUStat, k) }
static const struct cg_key cpu_keys[] = {
	CPU_KEY(usage_usec), CPU_KEY(user_usec), CPU_KEY(system_usec),
	CPU_KEY(nr_periods), CPU_KEY(nr_throttled), CPU_KEY(throttled_usec),
};

#define MEM_KEY(k)	{ #k, offsetof(iccv_MemoryStat, k) }
static const struct cg_key memory_keys[] = {
	MEM_KEY(anon), MEM_KEY(file), MEM_KEY(kernel_stack), MEM_KEY(slab),
	MEM_KEY(sock), MEM_KEY(shmem), MEM_KEY(file_mapped),
	MEM_KEY(file_dirty), MEM_KEY(file_writeback), MEM_KEY(anon_thp),
	MEM_KEY(inactive_anon), MEM_KEY(active_anon), MEM_KEY(inactive_file),
	MEM_KEY(active_file), MEM_KEY(unevictable), MEM_KEY(slab_reclaimable),
	MEM_KEY(slab_unreclaimable), MEM_KEY(pgfault), MEM_KEY(pgmajfault),
	MEM_KEY(workingset_refault), MEM_KEY(workingset_activate),
	MEM_KEY(workingset_nodereclaim), MEM_KEY(pgrefill), MEM_KEY(pgscan),
	MEM_KEY(pgsteal), MEM_KEY(pgactivate), MEM_KEY(pgdeactivate),
	MEM_KEY(pglazyfree), MEM_KEY(pglazyfreed), MEM_KEY(thp_fault_alloc),
	MEM_KEY(thp_collapse_alloc),
};

#define EVENT_KEY(k)	{ #k, offsetof(iccv_MemoryEvents, k) }
static const struct cg_key memory_event_keys[] = {
	EVENT_KEY(low), EVENT_KEY(high), EVENT_KEY(max), EVENT_KEY(oom),
	EVENT_KEY(oom_kill),
};

#define IO_KEY(k)	{ #k, offsetof(iccv_IOEntry, k) }
static const struct cg_key io_keys[] = {
	IO_KEY(rbytes), IO_KEY(wbytes), IO_KEY(rios), IO_KEY(wios),
};

#define NKEYS(a)	CG_NKEYS(a)

/*
 * Read dirfd/name into buf as a string; false if it is missing or cannot
 * be read (a controller that is not enabled).
 */
bool
cg_read(int dirfd, const char *name, char *buf, size_t size)
{
	ssize_t	n = 0;
	size_t	len = 0;
	int	fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return (false);
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (n != -1);
}

/* A value as the kernel writes it: a number, or "max" for no limit. */
uint64_t
cg_value(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "max", 3) == 0)
		return (UINT64_MAX);
	return (strtoull(s, NULL, 10));
}

/* A single-value file; false if it is missing. */
bool
cg_read_value(int dirfd, const char *name, uint64_t *out)
{
	char	buf[64];

	if (!cg_read(dirfd, name, buf, sizeof(buf)))
		return (false);
	*out = cg_value(buf);
	return (true);
}

/* Store "key value" into msg if the key is one of keys. */
static void
cg_set_key(const struct cg_key *keys, size_t nkeys, void *msg,
    const char *key, size_t keylen, const char *value)
{
	size_t	i;

	for (i = 0; i < nkeys; i++) {
		if (strlen(keys[i].name) == keylen &&
		    memcmp(keys[i].name, key, keylen) == 0) {
			*(uint64_t *)((char *)msg + keys[i].offset) =
			    cg_value(value);
			return;
		}
	}
}

/*
 * Parse a flat keyed file ("key value" per line, as cpu.stat, memory.stat
 * and memory.events are) into msg; false if the file is missing.
 */
bool
cg_read_keyed(int dirfd, const char *name, const struct cg_key *keys,
    size_t nkeys, void *msg)
{
	char	*buf, *line, *next, *sp;
	bool	 found;

	buf = xmalloc(CGFILE_MAX);
	if ((found = cg_read(dirfd, name, buf, CGFILE_MAX))) {
		for (line = buf; *line != '\0'; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			else
				next = line + strlen(line);
			if ((sp = strchr(line, ' ')) != NULL)
				cg_set_key(keys, nkeys, msg, line,
				    (size_t)(sp - line), sp + 1);
		}
	}
	free(buf);
	return (found);
}

/* One io.stat line: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ...". */
static bool
cg_io_line(char *line, iccv_IOEntry *e)
{
	char	*field, *eq, *save = NULL;

	memset(e, 0, sizeof(*e));
	if ((field = strtok_r(line, " ", &save)) == NULL ||
	    sscanf(field, "%" SCNu64 ":%" SCNu64, &e->major, &e->minor) != 2)
		return (false);
	while ((field = strtok_r(NULL, " ", &save)) != NULL) {
		if ((eq = strchr(field, '=')) != NULL)
			cg_set_key(io_keys, NKEYS(io_keys), e, field,
			    (size_t)(eq - field), eq + 1);
	}
	return (true);
}

/* io.stat, one entry per device, at most the message's bound. */
static bool
cg_read_io(int dirfd, iccv_IOStat *io)
{
	const size_t	 max = sizeof(io->usage) / sizeof(io->usage[0]);
	char		*buf, *line, *save = NULL;
	bool		 found;

	buf = xmalloc(CGFILE_MAX);
	if ((found = cg_read(dirfd, "io.stat", buf, CGFILE_MAX))) {
		for (line = strtok_r(buf, "\n", &save);
		    line != NULL && io->usage_count < max;
		    line = strtok_r(NULL, "\n", &save)) {
			if (cg_io_line(line, &io->usage[io->usage_count]))
				io->usage_count++;
		}
	}
	free(buf);
	return (found);
}

/* The memory controller's files; false if the cgroup has none of them. */
static bool
cg_read_memory(int dirfd, iccv_MemoryStat *m)
{
	bool	found;

	found = cg_read_keyed(dirfd, "memory.stat", memory_keys,
	    NKEYS(memory_keys), m);
	found |= cg_read_value(dirfd, "memory.current", &m->usage);
	if (!found)
		return (false);
	cg_read_value(dirfd, "memory.max", &m->usage_limit);
	cg_read_value(dirfd, "memory.swap.current", &m->swap_usage);
	cg_read_value(dirfd, "memory.swap.max", &m->swap_limit);
	return (true);
}

/* Fill every submessage whose controller the cgroup at dirfd has. */
static void
cg_read_all(int dirfd, iccv_Metrics *m)
{
	m->has_pids = cg_read_value(dirfd, "pids.current", &m->pids.current);
	if (m->has_pids)
		cg_read_value(dirfd, "pids.max", &m->pids.limit);
	m->has_cpu = cg_read_keyed(dirfd, "cpu.stat", cpu_keys,
	    NKEYS(cpu_keys), &m->cpu);
	m->has_memory = cg_read_memory(dirfd, &m->memory);
	m->has_memory_events = cg_read_keyed(dirfd, "memory.events",
	    memory_event_keys, NKEYS(memory_event_keys), &m->memory_events);
	m->has_io = cg_read_io(dirfd, &m->io);
}

/* Encode the metrics of the cgroup v2 directory cgroup_dir. */
int
cgstats_for_dir(const char *cgroup_dir, const char **type_url,
    uint8_t **value, size_t *len, char **err)
{
	iccv_Metrics	*m;
	char		*cause = NULL;
	int		 dirfd;
	bool		 ok;

	dirfd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd == -1) {
		xasprintf(err, "cgroup %s: %s", cgroup_dir, strerror(errno));
		return (-1);
	}
	m = xcalloc(1, sizeof(*m));	/* ~2 KiB with io entries: not the stack */
	cg_read_all(dirfd, m);
	close(dirfd);
	ok = msg_encode(iccv_Metrics_fields, m, value, len, &cause);
	free(m);
	if (!ok) {
		xasprintf(err, "encode cgroup metrics: %s", cause);
		free(cause);
		return (-1);
	}
	*type_url = CGSTATS_TYPE_URL;
	return (0);
}

/* Whether path is the mount point of a cgroup2 hierarchy. */
bool
cg_is_cgroup2(const char *path)
{
	struct statfs	sfs;

	return (statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC);
}

/* Where the cgroup v2 hierarchy is mounted, or NULL if it is not. */
static const char *
cg_v2_root(void)
{
	static const char *const roots[] = { CGROUP_ROOT, CGROUP_HYBRID };
	size_t	i;

	for (i = 0; i < NKEYS(roots); i++) {
		if (cg_is_cgroup2(roots[i]))
			return (roots[i]);
	}
	return (NULL);
}

/* pid's cgroup v2 directory, from its "0::<path>" line. */
char *
cgstats_pid_dir(pid_t pid, char **err)
{
	const char	*root;
	char		 path[64], *line = NULL, *dir = NULL;
	size_t		 size = 0;
	ssize_t		 n;
	FILE		*f;

	if ((root = cg_v2_root()) == NULL) {
		xasprintf(err, "no cgroup v2 hierarchy at " CGROUP_ROOT);
		return (NULL);
	}
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	if ((f = fopen(path, "re")) == NULL) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	while (dir == NULL && (n = getline(&line, &size, f)) != -1) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (strncmp(line, "0::/", 4) == 0)
			xasprintf(&dir, "%s%s", root,
			    strcmp(line + 3, "/") == 0 ? "" : line + 3);
	}
	free(line);
	fclose(f);
	if (dir == NULL)
		xasprintf(err, "%s: no cgroup v2 entry", path);
	return (dir);
}

/* pid's memory cgroup: v1 where the controllers are, else v2. */
char *
cgstats_memory_dir(pid_t pid, char **err)
{
	struct cg1_dirs	 d;
	char		*dir;

	if (!cg_is_cgroup2(CGROUP_ROOT)) {
		if (cg1_dirs_for_pid(pid, &d, err) == -1)
			return (NULL);
		dir = d.memory;
		d.memory = NULL;
		cg1_dirs_free(&d);
		if (dir != NULL)
			return (dir);
	}
	return (cgstats_pid_dir(pid, err));
}

/*
 * Where the controllers are cgroup v1 (legacy, or systemd's hybrid layout
 * whose cgroup2 tree has none), the v1 metrics, as containerd's runc shim
 * answers there; NULL *type_url if pid has no v1 memory or cpuacct.
 */
static int
cgstats_v1_for_pid(pid_t pid, const char **type_url, uint8_t **value,
    size_t *len, char **err)
{
	struct cg1_dirs	d;
	int		rc = 0;

	*type_url = NULL;
	if (cg1_dirs_for_pid(pid, &d, err) == -1)
		return (-1);
	if (d.memory != NULL || d.cpuacct != NULL) {
		if ((rc = cg1_encode(&d, value, len, err)) == 0)
			*type_url = CGSTATS_V1_TYPE_URL;
	}
	cg1_dirs_free(&d);
	return (rc);
}

/* Encode the metrics of pid's cgroup: v2 on a unified host, else v1. */
int
cgstats_for_pid(pid_t pid, const char **type_url, uint8_t **value,
    size_t *len, char **err)
{
	char	*dir;
	int	 rc;

	if (!cg_is_cgroup2(CGROUP_ROOT)) {
		if (cgstats_v1_for_pid(pid, type_url, value, len, err) == -1)
			return (-1);
		if (*type_url != NULL)
			return (0);
	}
	if ((dir = cgstats_pid_dir(pid, err)) == NULL)
		return (-1);
	rc = cgstats_for_dir(dir, type_url, value, len, err);
	free(dir);
	return (rc);
}
