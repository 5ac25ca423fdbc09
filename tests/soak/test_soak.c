/*
 * test_soak.c: the crash-and-abuse soak (issue 10, "Also").
 *
 * Several client threads, each on its own connection and its own ids,
 * drive mixed Store (Create/Update/Delete with labels) and lifecycle
 * (Store.Create, Controller Create/Start/Stop/Wait/Shutdown, Store.Delete
 * of exec and pause sandboxes) load against the real daemon, while the
 * main thread kills it at a random moment, with SIGKILL mostly and
 * SIGTERM sometimes, and restarts it.  The daemon runs with its keeper,
 * so the threads' connections outlive it: a call the next daemon can
 * resume is answered, one it cannot gets its connection closed.
 *
 * Every thread keeps a ledger: what the daemon acknowledged, and for a
 * call whose answer was lost (the daemon died under it) the one other
 * outcome that is allowed.  After every restart, with the threads parked,
 * the main thread checks the whole ledger against Store.List and
 * Admin.ListInstances: an acknowledged Store write is there with its
 * content, an acknowledged Delete is gone, an acknowledged Start is an
 * instance that is running or stopped, and every process and netns file
 * belongs to an instance.  At the end everything is shut down and
 * nothing may be left: no process, no netns file, no mount.
 *
 * SANDBOXD_SOAK_SECONDS (default 60) bounds the load time, and
 * SANDBOXD_SOAK_SEED replays a run (the seed is printed).  The summary
 * line gives rounds, acknowledged operations checked and losses (must be
 * 0).  README.md, "Soak and fuzz", says how to run it long.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "itest.h"
#include "procmgr.h"
#include "protocol.h"
#include "sbc.h"

#define NWORKERS	3
#define NSTORE		8	/* Store-only ids per worker */
#define NLIFE		3	/* lifecycle ids per worker */
#define MAX_PROBLEMS	20	/* problems printed in full */
#define SETTLE_MS	10000	/* how long a stray process may take to go */

#define SLEEP_SPEC \
	"{\"process\":{\"args\":[\"sleep\",\"1000\"]," \
	"\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/\"}}"

/* Where a lifecycle id is, as far as the daemon acknowledged. */
enum life {
	L_NONE,		/* no Store record, no instance */
	L_RECORD,	/* a Store record, no instance */
	L_CREATED,	/* an instance, created */
	L_STARTED,	/* started: running, stopping or stopped */
	L_STOPPED,	/* an acknowledged Stop: stopped */
};

static const char *life_names[] = { "none", "record", "created", "started",
    "stopped" };

/* A Store-only id: present or not, and the version its label carries. */
struct srec {
	bool	present;
	int	ver;
	bool	pending;	/* an unanswered call may have made ... */
	bool	pend_present;	/* ... this instead */
	int	pend_ver;
};

/* A lifecycle id. */
struct lrec {
	enum life	state;
	bool		pending;
	enum life	pend_state;
};

struct worker {
	int		 n;
	pthread_t	 thread;
	unsigned int	 seed;
	struct srec	 s[NSTORE];
	struct lrec	 l[NLIFE];
	uint64_t	 acked;		/* acknowledged operations */
	uint64_t	 lost_answers;	/* calls the daemon died under */
	uint64_t	 refused;	/* error answers (listed as problems) */
};

static struct {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	bool		 run;		/* workers may call */
	bool		 done;
	int		 parked;	/* workers waiting for run */
	struct worker	 w[NWORKERS];
	int		 problems;
	uint64_t	 checked;
} soak = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

TestSuite(soak, .fini = itest_teardown);

/* Note a problem (a loss, a leak or an unexpected answer). */
static void __attribute__((__format__(__printf__, 1, 2)))
problem(const char *fmt, ...)
{
	va_list	ap;

	struct timespec	ts;
	struct tm	tm;

	/* The wall-clock time, to find the moment in the daemon's log. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&soak.mu);
	if (soak.problems++ < MAX_PROBLEMS) {
		va_start(ap, fmt);
		fprintf(stderr, "soak: PROBLEM at %02d:%02d:%02d.%03ld: ",
		    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&soak.mu);
}

/* Did this call's answer get lost with the daemon (outcome unknown)? */
static bool
answer_lost(int rc)
{
	/* Unavailable: a daemon shutting down on SIGTERM may say so. */
	return (rc == SBC_ERR_TRANSPORT || rc == STATUS_DEADLINE_EXCEEDED ||
	    rc == STATUS_UNAVAILABLE);
}

/* The id of worker w's Store-only record k, or lifecycle id k. */
static void
id_of(char *buf, size_t size, int w, char kind, int k)
{
	snprintf(buf, size, "soak-%c%d-%d", kind, w, k);
}

/* Exec for even lifecycle ids, pause for odd ones. */
static const char *
life_runtime(int k)
{
	return (k % 2 == 0 ? RUNTIME_EXEC : RUNTIME_PAUSE);
}

/* Block while the main thread has the workers parked; false: finish. */
static bool
worker_gate(struct worker *w, struct sbc **c)
{
	bool	parked = false;

	pthread_mutex_lock(&soak.mu);
	while (!soak.run && !soak.done) {
		if (!parked) {
			if (*c != NULL) {
				sbc_close(*c);
				*c = NULL;
			}
			parked = true;
			soak.parked++;
			pthread_cond_broadcast(&soak.cv);
		}
		pthread_cond_wait(&soak.cv, &soak.mu);
	}
	if (parked)
		soak.parked--;
	pthread_mutex_unlock(&soak.mu);
	(void)w;
	return (!soak.done);
}

/* Record the outcome of a call: acknowledged, lost, or refused. */
static int
outcome(struct worker *w, int rc, struct sbc_error *err, const char *what,
    const char *id)
{
	if (rc == 0) {
		w->acked++;
		return (0);
	}
	if (answer_lost(rc)) {
		w->lost_answers++;
		sbc_error_clear(err);
		return (1);
	}
	w->refused++;
	problem("worker %d: %s %s answered %s: %s", w->n, what, id,
	    sbc_error_name(rc), err->message ? err->message : "");
	sbc_error_clear(err);
	return (-1);
}

/* One Store call on a Store-only id: create, update or delete. */
static int
store_step(struct worker *w, struct sbc *c)
{
	int			 k = (int)(rand_r(&w->seed) % NSTORE), rc, nv;
	struct srec		*r = &w->s[k];
	char			 id[64], wbuf[16], vbuf[16];
	struct sbc_label	 labels[2] = { { "w", wbuf }, { "v", vbuf } };
	struct sbc_meta		 m = {0};
	struct sbc_error	 err = {0};
	const char		*paths[] = { "labels" };
	const char		*what;

	id_of(id, sizeof id, w->n, 's', k);
	nv = r->ver + 1;
	snprintf(wbuf, sizeof wbuf, "%d", w->n);
	snprintf(vbuf, sizeof vbuf, "%d", nv);
	m.id = id;
	m.labels = labels;
	m.nlabels = 2;
	if (!r->present) {
		what = "Store.Create";
		rc = sbc_store_create(c, &m, NULL, &err);
	} else if (rand_r(&w->seed) % 4 != 0) {
		what = "Store.Update";
		rc = sbc_store_update(c, &m, paths, 1, NULL, &err);
	} else {
		what = "Store.Delete";
		rc = sbc_store_delete(c, id, &err);
		nv = 0;
	}
	switch (outcome(w, rc, &err, what, id)) {
	case 0:
		r->present = nv != 0;
		r->ver = nv;
		break;
	case 1:
		r->pending = true;
		r->pend_present = nv != 0;
		r->pend_ver = nv;
		return (-1);
	}
	return (0);
}

/* Store.Create of a lifecycle id's record. */
static int
life_record(struct sbc *c, const char *id, int k, struct sbc_error *err)
{
	struct sbc_meta		m;
	struct sbc_label	l = { "soak", "life" };

	m = itest_meta(id, life_runtime(k), k % 2 == 0 ? SLEEP_SPEC : NULL);
	m.labels = &l;
	m.nlabels = 1;
	return (sbc_store_create(c, &m, NULL, err));
}

/* One lifecycle call: move a lifecycle id one step on. */
static int
life_step(struct worker *w, struct sbc *c)
{
	int			 k = (int)(rand_r(&w->seed) % NLIFE), rc;
	struct lrec		*r = &w->l[k];
	struct sbc_error	 err = {0};
	struct sbc_start_info	 si;
	uint32_t		 status;
	enum life		 next;
	const char		*what;
	char			 id[64];

	id_of(id, sizeof id, w->n, 'l', k);
	switch (r->state) {
	case L_NONE:
		what = "Store.Create";
		rc = life_record(c, id, k, &err);
		next = L_RECORD;
		break;
	case L_RECORD:
		if (rand_r(&w->seed) % 3 == 0) {
			what = "Store.Delete";
			rc = sbc_store_delete(c, id, &err);
			next = L_NONE;
		} else {
			what = "Controller.Create";
			rc = sbc_ctrl_create(c, id, NULL, &err);
			next = L_CREATED;
		}
		break;
	case L_CREATED:
		what = "Controller.Start";
		rc = sbc_ctrl_start(c, id, &si, &err);
		if (rc == 0)
			sbc_start_info_free(&si);
		next = L_STARTED;
		break;
	case L_STARTED:
		what = "Controller.Stop";
		rc = sbc_ctrl_stop(c, id, 0, &err);
		next = L_STOPPED;
		break;
	case L_STOPPED:
	default:
		if (rand_r(&w->seed) % 2 == 0) {
			what = "Controller.Wait";
			rc = sbc_ctrl_wait(c, id, &status, NULL, &err);
			if (outcome(w, rc, &err, what, id) != 0)
				return (-1);
		}
		what = "Controller.Shutdown";
		rc = sbc_ctrl_shutdown(c, id, &err);
		next = L_RECORD;
		break;
	}
	switch (outcome(w, rc, &err, what, id)) {
	case 0:
		r->state = next;
		break;
	case 1:
		r->pending = true;
		r->pend_state = next;
		return (-1);
	}
	return (0);
}

/* A worker: calls until parked, reconnects after every restart. */
static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct sbc	*c = NULL;
	char		*cause = NULL;

	while (worker_gate(w, &c)) {
		if (c == NULL) {
			if ((c = sbc_connect(itest_d.socket, &cause)) == NULL) {
				free(cause);
				cause = NULL;
				usleep(5000);
				continue;
			}
			sbc_set_namespace(c, "default");
			sbc_set_timeout(c, 30000);
		}
		/* A ledger with an unresolved outcome waits for the check. */
		if (rand_r(&w->seed) % 3 == 0 ? life_step(w, c) :
		    store_step(w, c)) {
			sbc_close(c);
			c = NULL;
			pthread_mutex_lock(&soak.mu);
			while (soak.run && !soak.done)
				pthread_cond_wait(&soak.cv, &soak.mu);
			pthread_mutex_unlock(&soak.mu);
		}
	}
	if (c != NULL)
		sbc_close(c);
	return (NULL);
}

/* Let the workers call, or park them and wait until all are parked. */
static void
workers_run(bool run)
{
	pthread_mutex_lock(&soak.mu);
	soak.run = run;
	pthread_cond_broadcast(&soak.cv);
	while (!run && soak.parked < NWORKERS)
		pthread_cond_wait(&soak.cv, &soak.mu);
	pthread_mutex_unlock(&soak.mu);
}

/* The record named id in a List answer, or NULL. */
static const struct sbc_meta *
find_meta(const struct sbc_meta *list, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].id, id) == 0)
			return (&list[i]);
	return (NULL);
}

/* The instance named id, or NULL. */
static const struct sbc_instance *
find_inst(const struct sbc_instance *list, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i].id, id) == 0)
			return (&list[i]);
	return (NULL);
}

/* Does what the daemon has for a Store-only id match (present, ver)? */
static bool
srec_matches(const struct sbc_meta *m, int w, bool present, int ver)
{
	const char	*v, *wl;
	char		 want[16];

	if (!present)
		return (m == NULL);
	if (m == NULL)
		return (false);
	snprintf(want, sizeof want, "%d", ver);
	v = sbc_meta_label(m, "v");
	wl = sbc_meta_label(m, "w");
	return (v != NULL && strcmp(v, want) == 0 && wl != NULL &&
	    atoi(wl) == w);
}

/* Check worker w's Store-only ids; resolve the unanswered call. */
static void
check_store(struct worker *w, const struct sbc_meta *list, size_t n)
{
	const struct sbc_meta	*m;
	struct srec		*r;
	char			 id[64];
	int			 k;

	for (k = 0; k < NSTORE; k++) {
		r = &w->s[k];
		id_of(id, sizeof id, w->n, 's', k);
		m = find_meta(list, n, id);
		soak.checked++;
		if (srec_matches(m, w->n, r->present, r->ver)) {
			/* the unanswered call did not happen */
		} else if (r->pending &&
		    srec_matches(m, w->n, r->pend_present, r->pend_ver)) {
			r->present = r->pend_present;
			r->ver = r->pend_ver;
		} else {
			problem("LOSS: %s: want %s v%d%s, daemon has %s v%s",
			    id, r->present ? "present" : "absent", r->ver,
			    r->pending ? " (or the unanswered call's)" : "",
			    m ? "present" : "absent",
			    m && sbc_meta_label(m, "v") ?
			    sbc_meta_label(m, "v") : "-");
			/* Go on from what the daemon has: one report a loss. */
			r->present = m != NULL;
			r->ver = m && sbc_meta_label(m, "v") ?
			    atoi(sbc_meta_label(m, "v")) : 0;
		}
		r->pending = false;
	}
}

/* Does what the daemon has for a lifecycle id match state s? */
static bool
life_matches(const struct sbc_meta *m, const struct sbc_instance *in,
    enum life s, int k)
{
	if (s == L_NONE)
		return (m == NULL && in == NULL);
	if (m == NULL || strcmp(m->runtime, life_runtime(k)) != 0)
		return (false);
	switch (s) {
	case L_RECORD:
		return (in == NULL);
	case L_CREATED:
		return (in != NULL && strcmp(in->state, "created") == 0);
	case L_STARTED:
		return (in != NULL && (strcmp(in->state, "running") == 0 ||
		    strcmp(in->state, "stopping") == 0 ||
		    strcmp(in->state, "stopped") == 0));
	case L_STOPPED:
		return (in != NULL && strcmp(in->state, "stopped") == 0);
	default:
		return (false);
	}
}

/* The state a lifecycle id is in, as the daemon has it. */
static enum life
life_observed(const struct sbc_meta *m, const struct sbc_instance *in)
{
	if (in == NULL)
		return (m == NULL ? L_NONE : L_RECORD);
	if (strcmp(in->state, "created") == 0)
		return (L_CREATED);
	if (strcmp(in->state, "stopped") == 0)
		return (L_STOPPED);
	return (L_STARTED);
}

/* Check worker w's lifecycle ids; resolve the unanswered call. */
static void
check_life(struct worker *w, const struct sbc_meta *list, size_t n,
    const struct sbc_instance *insts, size_t ninsts)
{
	const struct sbc_instance	*in;
	const struct sbc_meta		*m;
	struct lrec			*r;
	char				 id[64];
	int				 k;

	for (k = 0; k < NLIFE; k++) {
		r = &w->l[k];
		id_of(id, sizeof id, w->n, 'l', k);
		m = find_meta(list, n, id);
		in = find_inst(insts, ninsts, id);
		soak.checked++;
		if (life_matches(m, in, r->state, k)) {
			/* the unanswered call did not happen */
		} else if (r->pending && life_matches(m, in, r->pend_state,
		    k)) {
			r->state = r->pend_state;
		} else {
			problem("LOSS: %s: want %s%s%s, daemon has record %s, "
			    "instance %s", id, life_names[r->state],
			    r->pending ? " or " : "",
			    r->pending ? life_names[r->pend_state] : "",
			    m ? "yes" : "no", in ? in->state : "none");
			r->state = life_observed(m, in);
		}
		r->pending = false;
	}
}

/* Live non-zombie sandbox processes: children of us or of the daemon. */
static int
sandbox_pids(pid_t *pids, int max)
{
	struct dirent	*de;
	DIR		*dir;
	pid_t		 pid, ppid;
	char		 state;
	int		 n = 0;

	cr_assert_not_null(dir = opendir("/proc"));
	while (n < max && (de = readdir(dir)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) <= 0 || pid == itest_d.pid)
			continue;
		if (proc_read_parent(pid, &ppid, &state) == -1 ||
		    state == 'Z' || state == 'X')
			continue;
		if (ppid != getpid() && (itest_d.pid == 0 ||
		    ppid != itest_d.pid))
			continue;
		if (!proc_is_daemon_helper(pid))
			pids[n++] = pid;
	}
	closedir(dir);
	return (n);
}

/* Is pid the process of a live instance? */
static bool
pid_owned(pid_t pid, const struct sbc_instance *insts, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((pid_t)insts[i].pid == pid && !insts[i].exited &&
		    strcmp(insts[i].state, "stopped") != 0)
			return (true);
	return (false);
}

/* Is the netns file name (<ns>-<id>) an instance's? */
static bool
netns_owned(const char *name, const struct sbc_instance *insts, size_t n)
{
	const char	*base;
	size_t		 i;

	for (i = 0; i < n; i++) {
		base = strrchr(insts[i].netns_path, '/');
		if (base != NULL && strcmp(base + 1, name) == 0)
			return (true);
	}
	return (false);
}

/* Count strays: processes and netns files no instance owns. */
static int
strays(const struct sbc_instance *insts, size_t n, bool report)
{
	struct dirent	*de;
	DIR		*dir;
	pid_t		 pids[512];
	char		 path[PATH_MAX + 16];
	int		 i, np, bad = 0;

	itest_reap_orphans(&itest_d);
	np = sandbox_pids(pids, 512);
	for (i = 0; i < np; i++)
		if (!pid_owned(pids[i], insts, n)) {
			bad++;
			if (report)
				problem("LEAK: process %d belongs to no "
				    "running instance", (int)pids[i]);
		}
	snprintf(path, sizeof path, "%s/netns", itest_d.run_dir);
	if ((dir = opendir(path)) == NULL)
		return (bad);
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' || netns_owned(de->d_name, insts, n))
			continue;
		bad++;
		if (report)
			problem("LEAK: netns %s/%s belongs to no instance",
			    path, de->d_name);
	}
	closedir(dir);
	return (bad);
}

/* The Store's records and the instances, fetched on a new connection. */
static void
fetch(struct sbc *c, struct sbc_meta **list, size_t *n,
    struct sbc_instance **insts, size_t *ninsts)
{
	struct sbc_error	err = {0};

	itest_expect(sbc_store_list(c, NULL, 0, list, n, &err), 0, &err,
	    "Store.List");
	itest_expect(sbc_admin_list_instances(c, insts, ninsts, &err), 0,
	    &err, "Admin.ListInstances");
}

/* After a restart: check every worker's ledger, then strays. */
static void
check_all(void)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_meta		*list = NULL;
	struct sbc_instance	*insts = NULL;
	size_t			 n = 0, ninsts = 0;
	int64_t			 end = itest_now_ms() + SETTLE_MS;
	int			 w;

	fetch(c, &list, &n, &insts, &ninsts);
	for (w = 0; w < NWORKERS; w++) {
		check_store(&soak.w[w], list, n);
		check_life(&soak.w[w], list, n, insts, ninsts);
	}
	/*
	 * A Start the daemon died under leaves a held child that goes by
	 * itself, and an exit may still be on its way: give strays time.
	 */
	while (strays(insts, ninsts, false) != 0 && itest_now_ms() < end) {
		usleep(50000);
		sbc_meta_list_free(list, n);
		sbc_instance_list_free(insts, ninsts);
		fetch(c, &list, &n, &insts, &ninsts);
	}
	strays(insts, ninsts, true);
	sbc_meta_list_free(list, n);
	sbc_instance_list_free(insts, ninsts);
	sbc_close(c);
}

/* Is anything of the daemon's still mounted? */
static bool
mounts_left(void)
{
	char	 line[4096];
	FILE	*f;
	bool	 found = false;

	cr_assert_not_null(f = fopen("/proc/self/mountinfo", "re"));
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, itest_d.dir) != NULL;
	fclose(f);
	return (found);
}

/* Shut every instance down, delete every record, stop the daemon. */
static void
wind_down(void)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_meta		*list = NULL;
	struct sbc_instance	*insts = NULL;
	struct sbc_error	 err = {0};
	size_t			 n = 0, ninsts = 0, i;
	uint32_t		 status;

	fetch(c, &list, &n, &insts, &ninsts);
	for (i = 0; i < ninsts; i++) {
		if (strcmp(insts[i].state, "running") == 0 ||
		    strcmp(insts[i].state, "stopping") == 0) {
			itest_expect(sbc_ctrl_stop(c, insts[i].id, 0, &err), 0,
			    &err, "Controller.Stop");
			itest_expect(sbc_ctrl_wait(c, insts[i].id, &status,
			    NULL, &err), 0, &err, "Controller.Wait");
		}
		itest_expect(sbc_ctrl_shutdown(c, insts[i].id, &err), 0, &err,
		    "Controller.Shutdown");
	}
	for (i = 0; i < n; i++)
		itest_expect(sbc_store_delete(c, list[i].id, &err), 0, &err,
		    "Store.Delete");
	sbc_meta_list_free(list, n);
	sbc_instance_list_free(insts, ninsts);
	fetch(c, &list, &n, &insts, &ninsts);
	cr_assert_eq(n, 0, "%zu records left after deleting all", n);
	cr_assert_eq(ninsts, 0, "%zu instances left after shutting all "
	    "down", ninsts);
	sbc_meta_list_free(list, n);
	sbc_instance_list_free(insts, ninsts);
	sbc_close(c);
	itest_daemon_stop(&itest_d);
}

/* An integer from the environment, or def. */
static long
env_long(const char *name, long def)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def);
}

/* Rounds of load, kill and check; no .timeout: ctest bounds CI's run. */
Test(soak, kill_restart_check)
{
	long		 seconds = env_long("SANDBOXD_SOAK_SECONDS", 60);
	unsigned int	 seed0 = (unsigned int)env_long("SANDBOXD_SOAK_SEED",
			    (long)(time(NULL) ^ getpid()));
	unsigned int	 seed = seed0;
	uint64_t	 acked = 0, lost = 0;
	int64_t		 end;
	int		 rounds = 0, kills = 0, terms = 0, w, left;

	ITEST_NEEDS_ROOT("sandbox processes and network namespaces");
	fprintf(stderr, "soak: %ld s, seed %u (SANDBOXD_SOAK_SEED replays "
	    "it)\n", seconds, seed);
	itest_daemon_init(&itest_d);
	itest_daemon_start(&itest_d, NULL);
	for (w = 0; w < NWORKERS; w++) {
		soak.w[w].n = w;
		soak.w[w].seed = seed + (unsigned int)w * 7919;
		cr_assert_eq(pthread_create(&soak.w[w].thread, NULL,
		    worker_main, &soak.w[w]), 0);
	}
	end = itest_now_ms() + seconds * 1000;
	while (itest_now_ms() < end) {
		workers_run(true);
		usleep((useconds_t)(100 + rand_r(&seed) % 1400) * 1000);
		if (rand_r(&seed) % 4 == 0) {
			itest_daemon_stop(&itest_d);
			terms++;
		} else {
			itest_daemon_kill9(&itest_d);
			kills++;
		}
		rounds++;
		/* The next daemon first: the keeper holds the workers'
		 * connections through the kill, so a call pending on one is
		 * answered, or its connection closed, only by the next
		 * daemon. */
		itest_daemon_restart(&itest_d);
		workers_run(false);
		check_all();
	}
	pthread_mutex_lock(&soak.mu);
	soak.done = true;
	pthread_cond_broadcast(&soak.cv);
	pthread_mutex_unlock(&soak.mu);
	for (w = 0; w < NWORKERS; w++) {
		pthread_join(soak.w[w].thread, NULL);
		acked += soak.w[w].acked;
		lost += soak.w[w].lost_answers;
	}
	wind_down();
	left = strays(NULL, 0, true);
	if (mounts_left()) {
		problem("LEAK: a mount under %s is left", itest_d.dir);
		left++;
	}
	fprintf(stderr, "soak: rounds %d (kill -9 %d, SIGTERM %d), "
	    "acknowledged operations %llu, checks %llu, unanswered %llu, "
	    "losses and leaks %d, seed %u\n", rounds, kills, terms,
	    (unsigned long long)acked, (unsigned long long)soak.checked,
	    (unsigned long long)lost, soak.problems, seed0);
	cr_assert_gt(rounds, 0, "no round ran");
	cr_assert_gt(acked, 0, "no operation was acknowledged");
	cr_assert_eq(left, 0, "processes, netns files or mounts left at "
	    "the end");
	cr_assert_eq(soak.problems, 0, "%d losses, leaks or refusals (see "
	    "above)", soak.problems);
}
