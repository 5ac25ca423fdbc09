/*
 * test_list_limits.c: what one List may cost the daemon (issue 10, items
 * 2 and 8), against the real daemon through the client library.
 *
 * A List over more records than one message may carry answers
 * ResourceExhausted without building the whole answer: the daemon's peak
 * RSS (VmHWM) grows by less than two messages' worth.  A List whose
 * regular expression would backtrack forever is refused (back-reference)
 * or runs in linear time (RE2), within a work budget; either way the
 * daemon goes on answering other clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "protocol.h"
#include "sbc.h"

#define BIG_RECORDS	24		/* 24 MiB of records in all */
#define BIG_SPEC	(1u << 20)	/* each with a 1 MiB spec */
#define LABEL_RECORDS	20		/* records with a 4 KiB label */

/* The tests start the daemon themselves (see start_daemon). */
TestSuite(list_limits, .fini = itest_teardown, .timeout = 300);

/*
 * Start the suite daemon.  Under ASan, freed memory waits in a quarantine
 * (256 MiB) and counts in the RSS; turn it off so that VmHWM shows what
 * the daemon holds at once, not what it has ever freed.
 */
static void
start_daemon(void)
{
	const char	*asan = getenv("ASAN_OPTIONS");
	char		 opts[512];

	snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0:"
	    "thread_local_quarantine_size_kb=0", asan != NULL ? asan : "",
	    asan != NULL && *asan != '\0' ? ":" : "");
	itest_daemon_setenv(&itest_d, "ASAN_OPTIONS", opts);
	itest_daemon_start(&itest_d, NULL);
}

/* The daemon's peak resident set (VmHWM), in KiB. */
static long
daemon_hwm_kib(void)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kib = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)itest_d.pid);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	cr_assert_gt(kib, 0, "no VmHWM in %s", path);
	return (kib);
}

/* List with one filter (NULL: none); the status, ids comma-joined. */
static int
list(struct sbc *c, const char *filter, char *ids, size_t size,
    struct sbc_error *err)
{
	const char	*f[1] = { filter };
	struct sbc_meta	*l;
	size_t		 n, i, len;
	int		 code;

	ids[0] = '\0';
	code = sbc_store_list(c, f, filter != NULL ? 1 : 0, &l, &n, err);
	if (code != 0)
		return (code);
	for (i = 0; i < n; i++) {
		len = strlen(ids);
		snprintf(ids + len, size - len, "%s%s", i > 0 ? "," : "",
		    l[i].id);
	}
	sbc_meta_list_free(l, n);
	return (0);
}

/* Create BIG_RECORDS records big-00 .. with 1 MiB specs, label n=<i>. */
static void
make_big_records(struct sbc *c)
{
	struct sbc_meta		 m = {0};
	struct sbc_label	 label = { "n", NULL };
	struct sbc_error	 err = {0};
	char			 id[16], n[16], *spec;
	int			 i;

	cr_assert_not_null(spec = malloc(BIG_SPEC));
	memset(spec, 'x', BIG_SPEC);
	m.spec.type_url = OCI_SPEC_TYPE_URL;
	m.spec.value = spec;
	m.spec.len = BIG_SPEC;
	m.labels = &label;
	m.nlabels = 1;
	for (i = 0; i < BIG_RECORDS; i++) {
		snprintf(id, sizeof id, "big-%02d", i);
		snprintf(n, sizeof n, "%d", i);
		m.id = id;
		label.value = n;
		itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
		    "create");
	}
	free(spec);
}

Test(list_limits, too_big_a_list_stops_at_one_message)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 ids[256];
	long			 before, after;

	start_daemon();
	c = itest_connect(&itest_d, "default");
	make_big_records(c);

	/* A filtered List reads and decodes every record: the baseline. */
	itest_expect(list(c, "labels.n==7", ids, sizeof ids, &err), 0, &err,
	    "list n==7");
	cr_assert_str_eq(ids, "big-07");
	before = daemon_hwm_kib();

	/* 24 MiB of records: the answer is refused, not built. */
	cr_assert_eq(list(c, NULL, ids, sizeof ids, &err),
	    STATUS_RESOURCE_EXHAUSTED, "list all: %d (%s)", err.code,
	    err.message);
	cr_assert(strstr(err.message, "narrow it with filters") != NULL,
	    "message: %s", err.message);
	sbc_error_clear(&err);
	after = daemon_hwm_kib();
	cr_log_info("VmHWM %ld KiB before the List of all, %ld after", before,
	    after);
	cr_assert_lt(after - before, 2 * (long)(FRAME_MAX_PAYLOAD / 1024),
	    "one List raised the daemon's peak RSS by %ld KiB (%ld -> %ld)",
	    after - before, before, after);

	/* So is a filtered one that passes one message (5 MiB)... */
	cr_assert_eq(list(c, "labels.n~=^[0-4]$", ids, sizeof ids, &err),
	    STATUS_RESOURCE_EXHAUSTED, "list 0-4: %d (%s)", err.code,
	    err.message);
	sbc_error_clear(&err);
	/* ...while one that fits (3 MiB) is answered in full. */
	itest_expect(list(c, "labels.n~=^(3|12|23)$", ids, sizeof ids, &err),
	    0, &err, "list 3, 12, 23");
	cr_assert_str_eq(ids, "big-03,big-12,big-23");
	sbc_close(c);
}

/* Create LABEL_RECORDS records lab-00 .. with a label k of 4095 'a's. */
static void
make_label_records(struct sbc *c)
{
	struct sbc_meta		 m = {0};
	struct sbc_label	 label = { "k", NULL };
	struct sbc_error	 err = {0};
	char			 id[16], *value;
	int			 i;

	/* Key and value may take 4096 bytes together. */
	cr_assert_not_null(value = malloc(4096));
	memset(value, 'a', 4095);
	value[4095] = '\0';
	label.value = value;
	m.labels = &label;
	m.nlabels = 1;
	for (i = 0; i < LABEL_RECORDS; i++) {
		snprintf(id, sizeof id, "lab-%02d", i);
		m.id = id;
		itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
		    "create");
	}
	free(value);
}

/* The other client is answered: a Get of lab-00. */
static void
other_client_answered(struct sbc *other, const char *after)
{
	struct sbc_meta		 got;
	struct sbc_error	 err = {0};

	itest_expect(sbc_store_get(other, "lab-00", &got, &err), 0, &err,
	    after);
	cr_assert_str_eq(got.id, "lab-00");
	sbc_meta_free(&got);
}

Test(list_limits, hostile_regex_does_not_hold_the_loop)
{
	struct sbc		*c, *other;
	struct sbc_error	 err = {0};
	char			 ids[512];

	start_daemon();
	c = itest_connect(&itest_d, "default");
	other = itest_connect(&itest_d, "default");
	make_label_records(c);

	/* The pattern: 3.4 s on 45 bytes; refused, with its column. */
	cr_assert_eq(list(c, "labels.k~=(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x",
	    ids, sizeof ids, &err), STATUS_INVALID_ARGUMENT,
	    "back-reference: %d (%s)", err.code, err.message);
	cr_assert(strstr(err.message, "column 31: invalid regular expression:"
	    " back-references") != NULL, "message: %s", err.message);
	sbc_error_clear(&err);
	other_client_answered(other, "get after the back-reference");

	/* Exponential for a backtracker, linear here: right answers. */
	itest_expect(list(c, "labels.k~=(a*)*b", ids, sizeof ids, &err), 0,
	    &err, "(a*)*b");
	cr_assert_str_eq(ids, "");
	itest_expect(list(c, "labels.k~=^(a|aa)*$,id~=^lab-0[0-2]$", ids,
	    sizeof ids, &err), 0, &err, "(a|aa)*");
	cr_assert_str_eq(ids, "lab-00,lab-01,lab-02");
	other_client_answered(other, "get after the linear patterns");

	/* Linear but dear (RE2 NFA, ~2000 steps a byte): the budget says no. */
	cr_assert_eq(list(c, "labels.k~=/a{1,1000}b/", ids, sizeof ids, &err),
	    STATUS_RESOURCE_EXHAUSTED, "a{1,1000}b: %d (%s)", err.code,
	    err.message);
	cr_assert(strstr(err.message, "regular expressions need more than") !=
	    NULL, "message: %s", err.message);
	sbc_error_clear(&err);
	other_client_answered(other, "get after the budget ran out");
	/* ... but not on a few records. */
	itest_expect(list(c, "id~=^lab-0[01]$,labels.k~=/a{1,1000}$/", ids,
	    sizeof ids, &err), 0, &err, "a{1,1000}$ on two");
	cr_assert_str_eq(ids, "lab-00,lab-01");
	sbc_close(other);
	sbc_close(c);
}
