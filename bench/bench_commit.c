/*
 * bench_commit.c: group commit.  sandboxd answers a Store.Create only
 * after the record is in LevelDB with a synced write, and it writes all the
 * changes of one loop iteration in one synced batch.  One client doing
 * sequential creates waits for one sync per create: that is the baseline.
 * Many clients, each with one create in flight, share the syncs.
 *
 * Measured in short rounds; each round measures, one after the other (the
 * order rotates from round to round):
 *   - LevelDB itself, called here (the only place outside storage/ that
 *     includes leveldb/c.h): records/s with 1 and with 64 records per
 *     synced write, values the size of a stored sandbox, on the same
 *     filesystem as the daemon's state (/tmp);
 *   - the daemon: Store.Create/s with 1, 8, 64 and 256 clients (one
 *     connection each, one create in flight each);
 *   - the daemon with 64 clients at --log-level debug, whose log names
 *     every commit: synced commits/s and records per commit.
 * A shared machine's disk and CPUs drift, so ratios are taken within a
 * round and the median over the rounds is printed.
 *
 * Each column has its own private daemon (see benchutil.h), started empty
 * and kept for the whole run, and the direct LevelDB is one database
 * kept for the whole run too: all grow alike from round to round.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leveldb/c.h>
#include <pb_encode.h>

#include "benchutil.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "pbutil.h"
#include "protocol.h"
#include "xmalloc.h"

#define DEFAULT_SECONDS		0.5
#define DEFAULT_ROUNDS		8
#define MAX_ROUNDS		30
#define MAX_RECORDS		1000000	/* per phase, whatever the time */
#define MAX_CLIENTS		256
#define GROUP			64	/* records per sync in the batch case */
#define LDB_WRITE_BUFFER	(2 * 1024 * 1024)	/* as storage.c */

/* The columns of a round. */
enum col {
	COL_LDB_ONE,		/* LevelDB, 1 record per synced write */
	COL_LDB_GROUP,		/* LevelDB, GROUP records per synced write */
	COL_D1,			/* the daemon with 1, 8, 64, 256 clients */
	COL_D8,
	COL_D64,
	COL_D256,
	COL_DEBUG,		/* 64 clients, debug log: commits counted */
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"ldb 1/sync", "ldb 64/sync", "1 client", "8 clients", "64 clients",
	"256 clients", "64 (debug)"
};
static const size_t	 col_clients[NCOLS] = { 0, 0, 1, 8, 64, 256, 64 };

/* A round's figures: per second, and what the debug log told. */
struct round {
	double	rate[NCOLS];
	double	cpu_us[NCOLS];	/* daemon CPU per create, microseconds */
	double	busy[NCOLS];	/* daemon CPU time / wall time */
	double	client[NCOLS];	/* this program's CPU time / wall time */
	double	wait[NCOLS];	/* daemon loop waiting for a CPU / wall */
	double	commits_per_sec;
	double	per_commit;	/* mean records per commit */
	size_t	max_commit;
	struct bench_latency probe;	/* during the 64 clients' phase */
};

/* A phase's outcome. */
struct rate {
	size_t	n;		/* records written or sandboxes created */
	size_t	errors;
	double	seconds;
};

/* One client connection with at most one create in flight. */
struct client {
	struct sbc	*c;
	uint32_t	 stream;
	bool		 busy;
};

/* The request every create sends, with its id changed. */
static cssv_StoreCreateRequest	*request;
/* -r ROUNDS and -t SECONDS per phase, with their defaults. */
static struct bench_opts	 opts = {
	.optstring = "r:t:", .rounds = DEFAULT_ROUNDS,
	.max_rounds = MAX_ROUNDS, .seconds = DEFAULT_SECONDS,
};
static size_t			 nerrors;
static int			 problems;
static struct bench_daemon	 daemons[NCOLS];	/* COL_D1 and after */
static size_t			 seqs[NCOLS];		/* next id number */
static long			 log_off[NCOLS];	/* debug log read */
static leveldb_t		*ldb;
static size_t			 value_len;		/* LevelDB values */

/* Build the Store.Create request: an exec sandbox with its OCI spec. */
static void
request_init(void)
{
	ct_Sandbox	*sb;
	const char	*spec = bench_exec_spec();

	request = xcalloc(1, sizeof *request);
	request->has_sandbox = true;
	sb = &request->sandbox;
	sb->has_runtime = true;
	snprintf(sb->runtime.name, sizeof sb->runtime.name, "%s",
	    BENCH_RUNTIME_EXEC);
	sb->has_spec = true;
	sb->spec.type_url = (char *)BENCH_SPEC_TYPE_URL;
	sb->spec.value.data = (const pb_byte_t *)spec;
	sb->spec.value.len = strlen(spec);
}

/* The size of the stored record (the request's sandbox, time-stamped). */
static size_t
record_size(void)
{
	ct_Sandbox	*sb = xmalloc(sizeof *sb);
	size_t		 size = 0;

	*sb = request->sandbox;
	snprintf(sb->sandbox_id, sizeof sb->sandbox_id, "c1-0000000");
	ts_now(&sb->created_at);
	sb->has_created_at = true;
	sb->updated_at = sb->created_at;
	sb->has_updated_at = true;
	pb_get_encoded_size(&size, ct_Sandbox_fields, sb);
	free(sb);
	return (size);
}

/* Write n records in one synced LevelDB write; false on error. */
static bool
ldb_write(leveldb_t *db, leveldb_writeoptions_t *wo, size_t first, size_t n,
    const char *val, size_t vlen)
{
	leveldb_writebatch_t	*b = leveldb_writebatch_create();
	char			 key[64], *err = NULL;
	size_t			 i;
	int			 klen;

	for (i = 0; i < n; i++) {
		klen = snprintf(key, sizeof key, "sb/%s/ldb-%07zu",
		    BENCH_NAMESPACE, first + i);
		leveldb_writebatch_put(b, key, (size_t)klen, val, vlen);
	}
	leveldb_write(db, wo, b, &err);
	leveldb_writebatch_destroy(b);
	if (err != NULL) {
		printf("  ERROR leveldb write: %s\n", err);
		leveldb_free(err);
		return (false);
	}
	return (true);
}

/* Synced writes of group records each, for the phase's time. */
static struct rate
ldb_phase(leveldb_t *db, size_t group)
{
	leveldb_writeoptions_t	*wo = leveldb_writeoptions_create();
	struct rate		 r = { 0, 0, 0 };
	char			*val = xmalloc(value_len);
	double			 t0 = bench_now();
	static size_t		 next;

	memset(val, 'v', value_len);
	leveldb_writeoptions_set_sync(wo, 1);
	while (bench_now() - t0 < opts.seconds && r.n < MAX_RECORDS &&
	    !bench_interrupted) {
		if (!ldb_write(db, wo, next, group, val, value_len)) {
			r.errors++;
			break;
		}
		next += group;
		r.n += group;
	}
	r.seconds = bench_now() - t0;
	leveldb_writeoptions_destroy(wo);
	free(val);
	return (r);
}

/* Open a fresh LevelDB in a temporary directory, as storage.c does. */
static leveldb_t *
ldb_open(char *dir, leveldb_options_t **lopts)
{
	char		 path[128], *err = NULL;
	leveldb_t	*db;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return (NULL);
	}
	snprintf(path, sizeof path, "%s/leveldb", dir);
	*lopts = leveldb_options_create();
	leveldb_options_set_create_if_missing(*lopts, 1);
	leveldb_options_set_write_buffer_size(*lopts, LDB_WRITE_BUFFER);
	if ((db = leveldb_open(*lopts, path, &err)) == NULL) {
		printf("  ERROR leveldb open %s: %s\n", path, err);
		leveldb_free(err);
	}
	return (db);
}

/* Close and remove the direct LevelDB. */
static void
ldb_close(leveldb_t *db, leveldb_options_t *lopts, const char *dir)
{
	char	 path[128], *err = NULL;

	leveldb_close(db);
	snprintf(path, sizeof path, "%s/leveldb", dir);
	leveldb_destroy_db(lopts, path, &err);
	leveldb_free(err);
	leveldb_options_destroy(lopts);
	rmdir(dir);
}

/* One LevelDB column of a round: records/s. */
static void
ldb_column(struct round *rd, enum col col)
{
	struct rate	r;

	r = ldb_phase(ldb, col == COL_LDB_ONE ? 1 : GROUP);
	rd->rate[col] = bench_per_sec(r.n, r.seconds);
	nerrors += r.errors;
}

/* Send the next create on a client; false on error. */
static bool
client_send(struct client *cl, size_t level, size_t seq)
{
	struct sbc_error	err = {0};

	snprintf(request->sandbox.sandbox_id,
	    sizeof request->sandbox.sandbox_id, "c%zu-%07zu", level, seq);
	if (sbc_send(cl->c, SERVICE_STORE, "Create",
	    cssv_StoreCreateRequest_fields, request, &cl->stream, &err) != 0) {
		if (nerrors++ < 10)
			printf("  ERROR send Store.Create: %s\n", err.message);
		sbc_error_clear(&err);
		return (false);
	}
	cl->busy = true;
	return (true);
}

/* Receive a client's reply; false on error. */
static bool
client_recv(struct client *cl)
{
	struct sbc_error	err = {0};

	cl->busy = false;
	if (sbc_recv(cl->c, cl->stream, NULL, NULL, NULL, &err) != 0) {
		if (nerrors++ < 10)
			printf("  ERROR Store.Create: %s (%s)\n", err.message,
			    sbc_error_name(err.code));
		sbc_error_clear(&err);
		return (false);
	}
	return (true);
}

/* Collect ready replies and send more until the time is up. */
static bool
clients_poll(struct client *cl, size_t n, size_t level, double t_end,
    struct rate *r, size_t *seq)
{
	struct pollfd	pfd[MAX_CLIENTS];
	size_t		i;
	bool		active = false;
	int		nready;

	for (i = 0; i < n; i++) {
		pfd[i].fd = sbc_fd(cl[i].c);
		pfd[i].events = cl[i].busy ? POLLIN : 0;
		active = active || cl[i].busy;
	}
	if (!active)
		return (false);
	if ((nready = poll(pfd, n, BENCH_CALL_TIMEOUT_MS)) == -1 &&
	    errno == EINTR)
		return (true);
	if (nready <= 0) {
		printf("  ERROR: no reply for %d ms\n", BENCH_CALL_TIMEOUT_MS);
		return (false);
	}
	for (i = 0; i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		if (client_recv(&cl[i]))
			r->n++;
		else
			r->errors++;
		if (bench_now() < t_end && r->n + r->errors < MAX_RECORDS &&
		    !sbc_broken(cl[i].c) && !bench_interrupted)
			client_send(&cl[i], level, (*seq)++);
	}
	return (true);
}

/*
 * n clients, one create in flight each, for the phase's time, in a
 * namespace of the round's own (a namespace holds at most 100000).
 */
static struct rate
create_phase(const struct bench_daemon *d, size_t n, int round, size_t *seq)
{
	struct client	*cl = xcalloc(n, sizeof *cl);
	struct rate	 r = { 0, 0, 0 };
	size_t		 i;
	double		 t0;
	char		 ns[32];

	snprintf(ns, sizeof ns, "%s-r%d", BENCH_NAMESPACE, round + 1);
	for (i = 0; i < n; i++) {
		if ((cl[i].c = bench_connect(d)) == NULL) {
			r.errors++;
			goto out;
		}
		sbc_set_namespace(cl[i].c, ns);
	}
	t0 = bench_now();
	for (i = 0; i < n; i++)
		client_send(&cl[i], n, (*seq)++);
	while (clients_poll(cl, n, n, t0 + opts.seconds, &r, seq))
		;
	r.seconds = bench_now() - t0;
out:
	for (i = 0; i < n; i++)
		sbc_close(cl[i].c);
	free(cl);
	return (r);
}

/* Read the debug log from *off on: commits and the records they carried. */
static void
count_commits(const struct bench_daemon *d, long *off, size_t *commits,
    size_t *ops, size_t *max)
{
	static const char	 tag[] = "store: committed ";
	char			 line[512], *p;
	size_t			 k;
	FILE			*f;

	*commits = *ops = *max = 0;
	if ((f = fopen(d->log_path, "re")) == NULL)
		return;
	fseek(f, *off, SEEK_SET);
	while (fgets(line, sizeof line, f) != NULL) {
		if ((p = strstr(line, tag)) == NULL)
			continue;
		k = strtoul(p + sizeof tag - 1, NULL, 10);
		(*commits)++;
		*ops += k;
		if (k > *max)
			*max = k;
	}
	*off = ftell(f);
	fclose(f);
}

/* One daemon column of a round: creates/s (and commits, at debug level). */
static void
daemon_column(struct round *rd, enum col col, int round)
{
	struct rate	r;
	size_t		commits, ops;
	struct bench_probe	probe;
	bool			probing;
	double		cpu = bench_cpu_seconds(daemons[col].pid);
	double		self = bench_cpu_seconds(getpid());
	double		delay = bench_run_delay(daemons[col].pid);

	/* How long the loop leaves a socket unread under this load. */
	probing = col == COL_D64 && bench_probe_start(&daemons[col], &probe) == 0;
	r = create_phase(&daemons[col], col_clients[col], round, &seqs[col]);
	if (probing && bench_probe_stop(&probe, &rd->probe) == -1)
		printf("    PROBLEM: the latency probe failed\n");
	cpu = bench_cpu_seconds(daemons[col].pid) - cpu;
	self = bench_cpu_seconds(getpid()) - self;
	delay = bench_run_delay(daemons[col].pid) - delay;
	rd->wait[col] = r.seconds > 0 ? delay / r.seconds : 0;
	rd->client[col] = r.seconds > 0 ? self / r.seconds : 0;
	rd->rate[col] = bench_per_sec(r.n, r.seconds);
	rd->cpu_us[col] = r.n > 0 ? cpu * 1e6 / (double)r.n : 0;
	rd->busy[col] = r.seconds > 0 ? cpu / r.seconds : 0;
	nerrors += r.errors;
	if (col != COL_DEBUG)
		return;
	count_commits(&daemons[col], &log_off[col], &commits, &ops,
	    &rd->max_commit);
	rd->commits_per_sec = bench_per_sec(commits, r.seconds);
	rd->per_commit = commits > 0 ? (double)ops / (double)commits : 0;
}

/* Measure and print one round, its columns in rotated order. */
static void
run_round(struct round *rd, int i)
{
	int	k, col;

	memset(rd, 0, sizeof *rd);
	for (k = 0; k < NCOLS; k++) {
		col = (k + i) % NCOLS;
		if (col < COL_D1)
			ldb_column(rd, (enum col)col);
		else
			daemon_column(rd, (enum col)col, i);
	}
	printf("  %-6d", i + 1);
	for (col = 0; col < NCOLS; col++)
		printf(" %11.0f", rd->rate[col]);
	printf(" %8.0f %6.1f\n", rd->commits_per_sec, rd->per_commit);
}

/* The median over the rounds of rate[a] / rate[b] (b < 0: rate[a]). */
static double
median_ratio(const struct round *rd, int a, int b)
{
	double	v[MAX_ROUNDS];
	int	i;

	for (i = 0; i < opts.rounds; i++) {
		v[i] = rd[i].rate[a];
		if (b >= 0)
			v[i] = rd[i].rate[b] > 0 ? v[i] / rd[i].rate[b] : 0;
	}
	return (bench_median(v, opts.rounds));
}

/*
 * The median over the rounds of a CPU figure: 0 the daemon's per create,
 * 1 its busy fraction, 2 ours, 3 its loop's wait for a CPU.
 */
static double
median_cpu(const struct round *rd, int col, int which)
{
	double	v[MAX_ROUNDS];
	int	i;

	for (i = 0; i < opts.rounds; i++)
		v[i] = which == 0 ? rd[i].cpu_us[col] : which == 1 ?
		    rd[i].busy[col] : which == 2 ? rd[i].client[col] :
		    rd[i].wait[col];
	return (bench_median(v, opts.rounds));
}

/* One row of the CPU table: median_cpu's figure which, per daemon column. */
static void
print_cpu_row(const struct round *rd, const char *label, int which,
    int decimals)
{
	int	col;

	printf("  %-24s", label);
	for (col = COL_D1; col < NCOLS; col++)
		printf(" %11.*f", decimals, median_cpu(rd, col, which));
	printf("\n");
}

/* Print the daemon's CPU use per column. */
static void
print_cpu(const struct round *rd)
{
	int	col;

	printf("CPU use (median over rounds; sandboxd: all its threads):\n");
	printf("  %-24s", "");
	for (col = COL_D1; col < NCOLS; col++)
		printf(" %11s", col_names[col]);
	printf("\n");
	print_cpu_row(rd, "sandboxd CPU us/create", 0, 1);
	print_cpu_row(rd, "sandboxd busy (1 = core)", 1, 2);
	print_cpu_row(rd, "sandboxd waits for a CPU", 3, 2);
	print_cpu_row(rd, "this client's CPU busy", 2, 2);
}

/* Print the table's head. */
static void
print_head(void)
{
	int	col;

	printf("records/s (LevelDB, %zu-byte values) and Store.Create/s "
	    "(sandboxd, one create in flight per client), %.2f s each:\n",
	    value_len, opts.seconds);
	printf("  %-6s", "round");
	for (col = 0; col < NCOLS; col++)
		printf(" %11s", col_names[col]);
	printf(" %8s %6s\n", "commit/s", "rec/c");
}

/* The ratios of the summary. */
static const struct bench_ratio ratios[] = {
	{ "LevelDB, 64 records per sync vs 1 per sync", COL_LDB_GROUP,
	  COL_LDB_ONE },
	{ "sandboxd 1 client vs LevelDB 1 per sync", COL_D1, COL_LDB_ONE },
	{ "sandboxd 64 clients vs LevelDB 1 per sync", COL_D64, COL_LDB_ONE },
	{ "sandboxd 64 clients vs LevelDB 64 per sync", COL_D64,
	  COL_LDB_GROUP },
	{ "sandboxd 8 clients vs 1 client", COL_D8, COL_D1 },
	{ "sandboxd 64 clients vs 1 client", COL_D64, COL_D1 },
	{ "sandboxd 256 clients vs 1 client", COL_D256, COL_D1 },
};

/* Print the medians and the ratios. */
static void
print_summary(const struct round *rd)
{
	double	v[MAX_ROUNDS];
	size_t	max, k;
	int	col, i;

	printf("  %-6s", "median");
	for (col = 0; col < NCOLS; col++)
		printf(" %11.0f", median_ratio(rd, col, -1));
	for (i = 0; i < opts.rounds; i++)
		v[i] = rd[i].commits_per_sec;
	printf(" %8.0f", bench_median(v, opts.rounds));
	for (i = 0; i < opts.rounds; i++)
		v[i] = rd[i].per_commit;
	printf(" %6.1f\n", bench_median(v, opts.rounds));
	print_cpu(rd);
	printf("ratios (median over rounds of the ratio within a round):\n");
	for (k = 0; k < sizeof ratios / sizeof ratios[0]; k++)
		bench_print_ratio(ratios[k].label, 2,
		    median_ratio(rd, ratios[k].num, ratios[k].den));
	for (i = 0; i < opts.rounds; i++)
		v[i] = rd[i].probe.read_p99;
	printf("loop stall during 64 clients' creates (a Store.Get probe "
	    "every 2 ms; p99 of the time its request sat unread, median over "
	    "rounds): %.2f ms\n", bench_median(v, opts.rounds));
	for (i = 0; i < opts.rounds; i++)
		v[i] = rd[i].probe.p99;
	printf("  the probe's answers (they wait for the batch in flight): "
	    "p99 %.2f ms\n", bench_median(v, opts.rounds));
	for (i = 0, max = 0; i < opts.rounds; i++)
		max = rd[i].max_commit > max ? rd[i].max_commit : max;
	printf("largest commit seen (64 clients, debug): %zu records\n", max);
	printf("RESULT group commit: 64 clients create %.2fx as fast as 1 "
	    "client (baseline: 1 client, one synced commit per create)\n",
	    median_ratio(rd, COL_D64, COL_D1));
}

/* Start one daemon per daemon column (the debug one at debug level). */
static void
daemons_start(void)
{
	int	col;

	for (col = COL_D1; col < NCOLS; col++)
		bench_daemon_start(&daemons[col], col == COL_DEBUG ? "debug" :
		    "warn");
}

/* Stop the daemons and count their problems. */
static void
daemons_stop(void)
{
	int	col;

	for (col = COL_D1; col < NCOLS; col++)
		problems += bench_daemon_stop(&daemons[col]);
}

/* The benchmark: parse the options, run the rounds, print the summary. */
int
main(int argc, char **argv)
{
	struct round		 rd[MAX_ROUNDS];
	leveldb_options_t	*lopts = NULL;
	char			 dir[] = "/tmp/sbdbench-ldb.XXXXXX";
	int			 i;

	if (bench_parse_args(argc, argv, &opts) == -1)
		return (2);
	bench_init("bench_commit", "group commit of Store.Create");
	request_init();
	value_len = record_size();
	if ((ldb = ldb_open(dir, &lopts)) == NULL)
		return (1);
	daemons_start();
	print_head();
	for (i = 0; i < opts.rounds && !bench_interrupted; i++)
		run_round(&rd[i], i);
	daemons_stop();
	ldb_close(ldb, lopts, dir);
	/* An interrupted round is not summed up. */
	if ((opts.rounds = bench_interrupted ? i - 1 : i) > 0)
		print_summary(rd);
	free(request);
	return (bench_finish(problems, nerrors));
}
