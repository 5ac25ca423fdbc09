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

/* The test process's own cgroup, where the host has cgroup v2. */
Test(cgstats, own_cgroup, .timeout = TEST_TIMEOUT)
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
	cr_log_info("own cgroup: %s", dir);
	free(dir);
	cr_assert_eq(cgstats_for_pid(getpid(), &url, &buf, &len, &err), 0,
	    "cgstats_for_pid: %s", err);
	memset(&m, 0, sizeof(m));
	cr_assert(msg_decode(iccv_Metrics_fields, &m, buf, len, &err),
	    "decode: %s", err);
	free(buf);
	/* cpu.stat is there in every cgroup v2 directory; we have run. */
	cr_assert(m.has_cpu);
	cr_assert_gt(m.cpu.usage_usec, 0);
	if (m.has_pids)
		cr_assert_geq(m.pids.current, 1);
	if (m.has_memory)
		cr_assert_gt(m.memory.usage, 0);
}
