/*
 * cgstats.h: a cgroup v2 directory's figures as containerd's
 * io.containerd.cgroups.v2.Metrics, the Any a task's Stats answers with
 * (what `crictl stats` shows).  Reads a handful of small files; no state.
 */
#ifndef SANDBOXD_CGSTATS_H
#define SANDBOXD_CGSTATS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* The type URLs containerd's typeurl resolves to cgroup2/cgroup1 stats.Metrics. */
#define CGSTATS_TYPE_URL	"io.containerd.cgroups.v2.Metrics"
#define CGSTATS_V1_TYPE_URL	"io.containerd.cgroups.v1.Metrics"

/* cgstats.c */
/*
 * Encode the metrics of pid's cgroup or of the cgroup v2 directory
 * cgroup_dir.  For a pid, as containerd's runc shim decides: on a unified
 * (cgroup2) host, io.containerd.cgroups.v2.Metrics of its "0::" cgroup;
 * where the controllers are v1 (legacy or hybrid hosts),
 * io.containerd.cgroups.v1.Metrics of its v1 cgroups.  *type_url is static,
 * *value malloc'd.  A controller the cgroup lacks leaves its fields out; a
 * cgroup that cannot be found or read at all is an error: -1 with *err
 * (malloc'd).
 */
int	cgstats_for_pid(pid_t, const char **type_url, uint8_t **value,
	    size_t *len, char **err);
int	cgstats_for_dir(const char *cgroup_dir, const char **type_url,
	    uint8_t **value, size_t *len, char **err);
/*
 * pid's cgroup v2 directory: the cgroup2 mount (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid host) joined with its "0::" path;
 * malloc'd, or NULL with *err.
 */
char	*cgstats_pid_dir(pid_t, char **err);
/*
 * pid's memory cgroup directory, where its OOM kills are counted: its v1
 * memory controller's where the controllers are v1 (as for the metrics),
 * else its cgroup v2 directory; malloc'd, or NULL with *err.
 */
char	*cgstats_memory_dir(pid_t, char **err);

#endif /* SANDBOXD_CGSTATS_H */
