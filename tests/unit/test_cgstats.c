/*
 * test_cgstats.c: procmgr/cgstats.c reads a cgroup v2 directory into
 * io.containerd.cgroups.v2.Metrics.  A fake cgroup (files the test
 * writes) checks each value after a decode; a cgroup without some
 * controllers leaves those submessages out; the test process's own cgroup
 * is read when the host has a cgroup2 hierarchy.
 */
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgstats.h"
#include "cgstats_int.h"
#include "containerd/cgroups/v1/metrics.pb.h"
#include "containerd/cgroups/v2/metrics.pb.h"
#include "pbutil.h"

#define TEST_TIMEOUT	30

static char	base[] = "/tmp/test_cgstats.XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(base), "mkdtemp: %s", strerror(errno));
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return (remove(path));
}

static void
teardown(void)
{
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write one file of the fake cgroup. */
static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s: %s", path,
	    strerror(errno));
	fputs(text, f);
	fclose(f);
}

/* Read the fake cgroup and decode what cgstats encoded. */
static void
read_metrics(iccv_Metrics *m)
{
	const char	*url = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL;

	cr_assert_eq(cgstats_for_dir(base, &url, &buf, &len, &err), 0,
	    "cgstats_for_dir: %s", err);
	cr_assert_str_eq(url, "io.containerd.cgroups.v2.Metrics");
	memset(m, 0, sizeof(*m));
	cr_assert(msg_decode(iccv_Metrics_fields, m, buf, len, &err),
	    "decode: %s", err);
	free(buf);
}

Test(cgstats, every_controller, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	iccv_Metrics	m;

	put("pids.current", "7\n");
	put("pids.max", "max\n");
	put("cpu.stat", "usage_usec 123456\nuser_usec 100000\n"
	    "system_usec 23456\nnr_periods 5\nnr_throttled 2\n"
	    "throttled_usec 999\ncore_sched.force_idle_usec 0\n");
	put("memory.current", "10485760\n");
	put("memory.max", "268435456\n");
	put("memory.swap.current", "0\n");
	put("memory.swap.max", "max\n");
	put("memory.stat", "anon 4096000\nfile 2048000\nkernel_stack 16384\n"
	    "inactive_file 1024000\nactive_file 1024000\nslab 8192\n"
	    "pgfault 321\nunknown_future_key 5\npgmajfault 3\n");
	put("memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
	put("io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 "
	    "dios=0\n259:1 rbytes=1 wbytes=2 rios=3 wios=4\n");
	read_metrics(&m);

	cr_assert(m.has_pids);
	cr_assert_eq(m.pids.current, 7);
	cr_assert_eq(m.pids.limit, UINT64_MAX);
	cr_assert(m.has_cpu);
	cr_assert_eq(m.cpu.usage_usec, 123456);
	cr_assert_eq(m.cpu.user_usec, 100000);
	cr_assert_eq(m.cpu.system_usec, 23456);
	cr_assert_eq(m.cpu.nr_periods, 5);
	cr_assert_eq(m.cpu.nr_throttled, 2);
	cr_assert_eq(m.cpu.throttled_usec, 999);
	cr_assert(m.has_memory);
	cr_assert_eq(m.memory.usage, 10485760);
	cr_assert_eq(m.memory.usage_limit, 268435456);
	cr_assert_eq(m.memory.swap_usage, 0);
	cr_assert_eq(m.memory.swap_limit, UINT64_MAX);
	cr_assert_eq(m.memory.anon, 4096000);
	cr_assert_eq(m.memory.file, 2048000);
	cr_assert_eq(m.memory.kernel_stack, 16384);
	cr_assert_eq(m.memory.inactive_file, 1024000);
	cr_assert_eq(m.memory.active_file, 1024000);
	cr_assert_eq(m.memory.slab, 8192);
	cr_assert_eq(m.memory.pgfault, 321);
	cr_assert_eq(m.memory.pgmajfault, 3);
	cr_assert(m.has_memory_events);
	cr_assert_eq(m.memory_events.max, 4);
	cr_assert_eq(m.memory_events.oom, 2);
	cr_assert_eq(m.memory_events.oom_kill, 1);
	cr_assert(m.has_io);
	cr_assert_eq(m.io.usage_count, 2);
	cr_assert_eq(m.io.usage[0].major, 8);
	cr_assert_eq(m.io.usage[0].minor, 0);
	cr_assert_eq(m.io.usage[0].rbytes, 4096);
	cr_assert_eq(m.io.usage[0].wbytes, 8192);
	cr_assert_eq(m.io.usage[0].rios, 1);
	cr_assert_eq(m.io.usage[0].wios, 2);
	cr_assert_eq(m.io.usage[1].major, 259);
	cr_assert_eq(m.io.usage[1].minor, 1);
	cr_assert_eq(m.io.usage[1].wios, 4);
}

/* Only cpu.stat (a cgroup with no controller enabled): the rest is absent. */
Test(cgstats, missing_controllers_are_absent, .init = setup,
    .fini = teardown, .timeout = TEST_TIMEOUT)
{
	iccv_Metrics	m;

	put("cpu.stat", "usage_usec 42\nuser_usec 40\nsystem_usec 2\n");
	read_metrics(&m);
	cr_assert(m.has_cpu);
	cr_assert_eq(m.cpu.usage_usec, 42);
	cr_assert_not(m.has_pids);
	cr_assert_not(m.has_memory);
	cr_assert_not(m.has_memory_events);
	cr_assert_not(m.has_io);
}

/* io.stat longer than the message's bound: the first 32 devices. */
Test(cgstats, io_entries_bounded, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	iccv_Metrics	m;
	char		text[8192];
	size_t		off = 0;
	int		i;

	for (i = 0; i < 40; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "7:%d rbytes=%d wbytes=0 rios=0 wios=0\n", i, i);
	put("io.stat", text);
	read_metrics(&m);
	cr_assert_eq(m.io.usage_count, 32);
	cr_assert_eq(m.io.usage[31].minor, 31);
	cr_assert_eq(m.io.usage[31].rbytes, 31);
}

Test(cgstats, missing_dir_is_an_error, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	const char	*url = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL, path[512];

	snprintf(path, sizeof(path), "%s/nope", base);
	cr_assert_eq(cgstats_for_dir(path, &url, &buf, &len, &err), -1);
	cr_assert_not_null(err);
	cr_assert_not_null(strstr(err, "nope"), "%s", err);
	cr_assert_null(buf);
	free(err);
	cr_assert_eq(cgstats_for_pid(0x7ffffff0, &url, &buf, &len, &err), -1);
	cr_assert_not_null(err);
	free(err);
}

/* Write one file of a fake v1 controller directory sub/ of base. */
static void
put1(const char *sub, const char *name, const char *text)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", base, sub);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s", sub, name);
	put(path, text);
}

/* A fake v1 cgroup: one directory per controller, as runc makes them. */
Test(cgstats, v1_controllers, .init = setup, .fini = teardown,
    .timeout = TEST_TIMEOUT)
{
	struct cg1_dirs	 d = { 0 };
	iccvs_Metrics	 m;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL;
	uint64_t	 hz = (uint64_t)sysconf(_SC_CLK_TCK);

	put1("pids", "pids.current", "3\n");
	put1("pids", "pids.max", "max\n");
	put1("cpuacct", "cpuacct.usage", "987654321\n");
	put1("cpuacct", "cpuacct.stat", "user 250\nsystem 50\n");
	put1("cpu", "cpu.stat", "nr_periods 10\nnr_throttled 4\n"
	    "throttled_time 5000\n");
	put1("memory", "memory.stat", "cache 4096\nrss 8192\npgfault 77\n"
	    "total_rss 16384\ntotal_inactive_file 1024\ntotal_pgfault 99\n"
	    "total_pgmajfault 5\nhierarchical_memsw_limit 123\n");
	put1("memory", "memory.usage_in_bytes", "20480\n");
	put1("memory", "memory.limit_in_bytes", "9223372036854771712\n");
	put1("memory", "memory.max_usage_in_bytes", "40960\n");
	put1("memory", "memory.failcnt", "2\n");
	put1("memory", "memory.oom_control", "oom_kill_disable 0\n"
	    "under_oom 0\noom_kill 1\n");
	asprintf(&d.pids, "%s/pids", base);
	asprintf(&d.cpu, "%s/cpu", base);
	asprintf(&d.cpuacct, "%s/cpuacct", base);
	asprintf(&d.memory, "%s/memory", base);
	cr_assert_eq(cg1_encode(&d, &buf, &len, &err), 0, "%s", err);
	cg1_dirs_free(&d);
	memset(&m, 0, sizeof(m));
	cr_assert(msg_decode(iccvs_Metrics_fields, &m, buf, len, &err),
	    "decode: %s", err);
	free(buf);

	cr_assert(m.has_pids);
	cr_assert_eq(m.pids.current, 3);
	cr_assert_eq(m.pids.limit, 0, "v1's \"max\" is 0, as containerd has it");
	cr_assert(m.has_cpu && m.cpu.has_usage && m.cpu.has_throttling);
	cr_assert_eq(m.cpu.usage.total, 987654321);
	cr_assert_eq(m.cpu.usage.user, 250 * 1000000000ULL / hz);
	cr_assert_eq(m.cpu.usage.kernel, 50 * 1000000000ULL / hz);
	cr_assert_eq(m.cpu.throttling.periods, 10);
	cr_assert_eq(m.cpu.throttling.throttled_periods, 4);
	cr_assert_eq(m.cpu.throttling.throttled_time, 5000);
	cr_assert(m.has_memory);
	cr_assert_eq(m.memory.cache, 4096);
	cr_assert_eq(m.memory.rss, 8192);
	cr_assert_eq(m.memory.pg_fault, 77);
	cr_assert_eq(m.memory.total_rss, 16384);
	cr_assert_eq(m.memory.total_inactive_file, 1024);
	cr_assert_eq(m.memory.total_pg_fault, 99);
	cr_assert_eq(m.memory.total_pg_maj_fault, 5);
	cr_assert_eq(m.memory.hierarchical_swap_limit, 123);
	cr_assert(m.memory.has_usage);
	cr_assert_eq(m.memory.usage.usage, 20480);
	cr_assert_eq(m.memory.usage.limit, 9223372036854771712ULL);
	cr_assert_eq(m.memory.usage.max, 40960);
	cr_assert_eq(m.memory.usage.failcnt, 2);
	cr_assert_not(m.memory.has_swap, "no memsw files: no swap entry");
	cr_assert(m.has_memory_oom_control);
	cr_assert_eq(m.memory_oom_control.oom_kill, 1);
}

/* A v1 cgroup with no controller directories: an empty message. */
Test(cgstats, v1_nothing_there, .timeout = TEST_TIMEOUT)
{
	struct cg1_dirs	 d = { 0 };
	iccvs_Metrics	 m;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL;

	cr_assert_eq(cg1_encode(&d, &buf, &len, &err), 0, "%s", err);
	memset(&m, 0, sizeof(m));
	cr_assert(msg_decode(iccvs_Metrics_fields, &m, buf, len, &err));
	free(buf);
	cr_assert_not(m.has_pids || m.has_cpu || m.has_memory ||
	    m.has_memory_oom_control);
}

/*
 * The test process's own cgroup: v2 metrics on a unified host, v1 where
 * the controllers are v1 (as containerd's runc shim chooses).
 */
Test(cgstats, own_cgroup, .timeout = TEST_TIMEOUT)
{
	const char	*url = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL;

	if (cgstats_for_pid(getpid(), &url, &buf, &len, &err) == -1) {
		cr_skip_test("no cgroup here: %s", err);
		return;
	}
	cr_log_info("own cgroup: %s", url);
	if (strcmp(url, CGSTATS_V1_TYPE_URL) == 0) {
		iccvs_Metrics	m;

		memset(&m, 0, sizeof(m));
		cr_assert(msg_decode(iccvs_Metrics_fields, &m, buf, len, &err),
		    "decode: %s", err);
		cr_assert(m.has_memory || m.has_cpu, "no memory nor cpuacct");
		cr_log_info("v1: memory %d usage %llu, cpu %d total %llu ns",
		    m.has_memory, (unsigned long long)m.memory.usage.usage,
		    m.has_cpu, (unsigned long long)m.cpu.usage.total);
		if (m.has_memory && m.memory.has_usage)
			cr_assert_gt(m.memory.usage.usage, 0);
		if (m.has_cpu && m.cpu.has_usage)
			cr_assert_gt(m.cpu.usage.total, 0);
	} else {
		iccv_Metrics	m;

		cr_assert_str_eq(url, CGSTATS_TYPE_URL);
		memset(&m, 0, sizeof(m));
		cr_assert(msg_decode(iccv_Metrics_fields, &m, buf, len, &err),
		    "decode: %s", err);
		/* cpu.stat is in every cgroup v2 directory; we have run. */
		cr_assert(m.has_cpu);
		cr_assert_gt(m.cpu.usage_usec, 0);
		if (m.has_memory)
			cr_assert_gt(m.memory.usage, 0);
	}
	free(buf);
}

/* The cgroup2 directory of the test process, where there is one. */
Test(cgstats, own_cgroup_v2_dir, .timeout = TEST_TIMEOUT)
{
	iccv_Metrics	 m;
	const char	*url = NULL;
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*err = NULL, *dir;

	if ((dir = cgstats_pid_dir(getpid(), &err)) == NULL) {
		cr_skip_test("no cgroup v2 here: %s", err);
		return;
	}
	cr_assert_eq(cgstats_for_dir(dir, &url, &buf, &len, &err), 0,
	    "%s: %s", dir, err);
	free(dir);
	memset(&m, 0, sizeof(m));
	cr_assert(msg_decode(iccv_Metrics_fields, &m, buf, len, &err),
	    "decode: %s", err);
	free(buf);
	cr_assert(m.has_cpu);
	cr_assert_gt(m.cpu.usage_usec, 0);
}
