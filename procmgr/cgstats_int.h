/*
 * cgstats_int.h: inside cgstats, between the cgroup v2 reader (cgstats.c)
 * and the v1 one (cgstats1.c): reading a cgroup's small files, and where
 * a pid's v1 controllers are.  Unit tests include it to read fake trees.
 */
#ifndef SANDBOXD_CGSTATS_INT_H
#define SANDBOXD_CGSTATS_INT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CGROUP_ROOT	"/sys/fs/cgroup"	/* cgroup2 on a unified host */
#define CGROUP_HYBRID	"/sys/fs/cgroup/unified" /* cgroup2 beside v1 (systemd hybrid) */

/* A "key value" line of a flat keyed file, and where its value goes. */
struct cg_key {
	const char	*name;
	size_t		 offset;	/* of a uint64_t in the submessage */
};

#define CG_NKEYS(a)	(sizeof(a) / sizeof((a)[0]))

/* A v1 cgroup's controller directories (NULL: that controller is not there). */
struct cg1_dirs {
	char	*pids;
	char	*cpu;
	char	*cpuacct;
	char	*memory;
};

/* cgstats.c */
bool	cg_read(int, const char *, char *, size_t);
uint64_t cg_value(const char *);
bool	cg_read_value(int, const char *, uint64_t *);
bool	cg_read_keyed(int, const char *, const struct cg_key *, size_t, void *);
bool	cg_is_cgroup2(const char *);

/* cgstats1.c */
int	cg1_dirs_for_pid(pid_t, struct cg1_dirs *, char **);
void	cg1_dirs_free(struct cg1_dirs *);
int	cg1_encode(const struct cg1_dirs *, uint8_t **, size_t *, char **);

#endif /* SANDBOXD_CGSTATS_INT_H */
