/*
 * main.c: sandboxd's entry point: settings, start-up order, signals.
 *
 * Start-up: settings (defaults < config file < command line), logging,
 * state and run directories, LevelDB, the event base, the process manager,
 * re-adoption of the sandboxes recorded before a restart, the socket,
 * so that no client is served before the state is whole, and last the
 * keeper (keep.c), which gives back the clients a crash left open.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "events.h"
#include "fs.h"
#include "handlers.h"
#include "keeper.h"
#include "procmgr.h"
#include "runc.h"
#include "server.h"
#include "storage.h"
#include "xmalloc.h"
#ifdef SANDBOXD_TEST_HOOKS
#include "storage_test.h"
#endif

static const char usage_text[] =
"usage: sandboxd [options]\n"
"\n"
"Serve containerd's sandbox API (Store, Controller and the shim Sandbox\n"
"service) over ttrpc on a Unix socket, for many sandboxes at once.\n"
"\n"
"options:\n"
"  -s, --socket PATH      socket to serve on (default %s)\n"
"  -d, --state-dir DIR    LevelDB, sandbox directories and logs\n"
"                         (default %s)\n"
"  -r, --run-dir DIR      socket and network namespaces (default %s)\n"
"  -c, --config FILE      read settings from FILE (see sandboxd(8))\n"
"  -l, --log-level LEVEL  error, warn, info or debug (default info)\n"
"  -L, --log-file FILE    log here instead of stderr\n"
"  -f, --foreground       do not detach; log to stderr\n"
"  -p, --pause-path PATH  the pause program of io.sandboxd.pause.v1\n"
"      --runc PATH        the OCI runtime containers run with (default runc,\n"
"                         from PATH)\n"
"      --runc-root DIR    runc's state directory (default RUN_DIR/runc)\n"
"      --keeper-grace SECS  how long sandboxd-keeper keeps the clients'\n"
"                         connections open for a daemon that died (default\n"
"                         60; 0: no keeper, a crash closes them)\n"
"      --keeper-path PATH the sandboxd-keeper program\n"
"  -h, --help             show this help\n"
"  -V, --version          show the version\n";

static const struct option long_options[] = {
	{ "socket",	required_argument, NULL, 's' },
	{ "state-dir",	required_argument, NULL, 'd' },
	{ "run-dir",	required_argument, NULL, 'r' },
	{ "config",	required_argument, NULL, 'c' },
	{ "log-level",	required_argument, NULL, 'l' },
	{ "log-file",	required_argument, NULL, 'L' },
	{ "foreground",	no_argument,	   NULL, 'f' },
	{ "pause-path",	required_argument, NULL, 'p' },
	{ "runc",	required_argument, NULL, 'R' },
	{ "runc-root",	required_argument, NULL, 'O' },
	{ "keeper-grace", required_argument, NULL, 'G' },
	{ "keeper-path", required_argument, NULL, 'K' },
	{ "help",	no_argument,	   NULL, 'h' },
	{ "version",	no_argument,	   NULL, 'V' },
	{ NULL,		0,		   NULL, 0 }
};

/* Command-line values, applied over the config file. */
struct cmdline {
	const char	*config, *socket, *state_dir, *run_dir, *log_level;
	const char	*log_file, *pause_path, *runc_path, *runc_root;
	const char	*keeper_grace, *keeper_path;
	bool		 foreground;
};

static void
usage(FILE *f, const struct config *defaults)
{
	fprintf(f, usage_text, defaults->socket_path, defaults->state_dir,
	    defaults->run_dir);
}

/* Parse argv; exits on --help, --version and errors. */
static void
parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	struct config	defaults;
	int		ch;

	memset(cl, 0, sizeof(*cl));
	while ((ch = getopt_long(argc, argv, "s:d:r:c:l:L:fp:hV", long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 's': cl->socket = optarg; break;
		case 'd': cl->state_dir = optarg; break;
		case 'r': cl->run_dir = optarg; break;
		case 'c': cl->config = optarg; break;
		case 'l': cl->log_level = optarg; break;
		case 'L': cl->log_file = optarg; break;
		case 'f': cl->foreground = true; break;
		case 'p': cl->pause_path = optarg; break;
		case 'R': cl->runc_path = optarg; break;
		case 'O': cl->runc_root = optarg; break;
		case 'G': cl->keeper_grace = optarg; break;
		case 'K': cl->keeper_path = optarg; break;
		case 'V':
			printf("sandboxd %s\n", SANDBOXD_VERSION);
			exit(0);
		case 'h':
			config_defaults(&defaults);
			usage(stdout, &defaults);
			exit(0);
		default:
			config_defaults(&defaults);
			usage(stderr, &defaults);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sandboxd: unexpected argument \"%s\"\n",
		    argv[optind]);
		exit(2);
	}
}

static void
override(char **slot, const char *value)
{
	if (value == NULL)
		return;
	free(*slot);
	*slot = xstrdup(value);
}

/* Settings: defaults, then the file, then the command line. */
static void
load_settings(const struct cmdline *cl, struct config *c)
{
	char	*cause = NULL;
	bool	 socket_given = cl->socket != NULL;

	config_defaults(c);
	if (cl->config != NULL && config_load(c, cl->config, &cause) == -1) {
		fprintf(stderr, "sandboxd: %s\n", cause);
		exit(2);
	}
	/* A run dir given alone moves the default socket with it. */
	if (cl->run_dir != NULL && !socket_given && cl->config == NULL) {
		free(c->socket_path);
		xasprintf(&c->socket_path, "%s/sandboxd.sock", cl->run_dir);
	}
	override(&c->socket_path, cl->socket);
	override(&c->state_dir, cl->state_dir);
	override(&c->run_dir, cl->run_dir);
	override(&c->log_file, cl->log_file);
	override(&c->pause_path, cl->pause_path);
	override(&c->runc_path, cl->runc_path);
	override(&c->runc_root, cl->runc_root);
	override(&c->keeper_path, cl->keeper_path);
	if (cl->keeper_grace != NULL &&
	    config_load_line(c, "keeper_grace_secs", cl->keeper_grace,
	    &cause) == -1) {
		fprintf(stderr, "sandboxd: --keeper-grace: %s\n", cause);
		exit(2);
	}
	if (cl->log_level != NULL &&
	    log_parse_level(cl->log_level, &c->log_level) == -1) {
		fprintf(stderr, "sandboxd: unknown log level \"%s\" (error, "
		    "warn, info, debug)\n", cl->log_level);
		exit(2);
	}
	c->foreground = cl->foreground;
	if (config_check(c, &cause) == -1) {
		fprintf(stderr, "sandboxd: %s\n", cause);
		exit(2);
	}
}

/* mkdir -p with the final component's mode, or die. */
static void
make_dir(const char *path, mode_t mode)
{
	char	*cause = NULL;

	if (fs_mkdir_p(path, 0755, mode, &cause) == -1)
		fatalx("%s", cause);
}

/*
 * Where a helper program is (sandboxd-pause, sandboxd-keeper):
 * configured, installed, or beside us.
 */
static char *
find_program(const char *configured, const char *name)
{
	char	 self[PATH_MAX], *path;
	ssize_t	 n;

	if (configured != NULL)
		return (xstrdup(configured));
	xasprintf(&path, "%s/%s", SANDBOXD_LIBEXECDIR, name);
	if (access(path, X_OK) == 0)
		return (path);
	free(path);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		xasprintf(&path, "%s/%s", dirname(self), name);
		if (access(path, X_OK) == 0)
			return (path);
		free(path);
	}
	xasprintf(&path, "%s/%s", SANDBOXD_LIBEXECDIR, name);
	return (path);
}

/*
 * A relative program path means the caller's directory; it must not mean
 * "/" after daemon(), nor a sandbox's cwd, where the child execs it.
 */
static void
absolute_path(char **slot, const char *what)
{
	char	cwd[PATH_MAX], *path;

	if (*slot == NULL || (*slot)[0] == '/')
		return;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		fatal("getcwd for the relative %s %s", what, *slot);
	xasprintf(&path, "%s/%s", cwd, *slot);
	free(*slot);
	*slot = path;
}

static void
signal_quit_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	(void)arg;
	log_info("received %s, shutting down (sandboxes keep running)",
	    strsignal(sig));
	loop_quit(0);
}

/* SIGUSR2: execute the binary again, keeping every client (reexec.c). */
static void
signal_reexec_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	reexec_request("SIGUSR2");
}

static void
signal_hup_cb(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	if (log_reopen() == -1)
		log_warn("cannot reopen the log file");
	else
		log_info("log file reopened");
}

/*
 * Test hooks: SANDBOXD_TEST_FAIL_COMMIT_AFTER=N fails commits after N;
 * SANDBOXD_TEST_COMMIT_DELAY_MS=N makes the commit thread sleep N ms
 * before each write.  Only in builds with SANDBOXD_TEST_HOOKS (Debug;
 * scripts/test.sh).
 */
static void
apply_test_hooks(void)
{
#ifdef SANDBOXD_TEST_HOOKS
	const char	*v = getenv("SANDBOXD_TEST_FAIL_COMMIT_AFTER");

	if (v != NULL && *v != '\0') {
		log_warnx("test hook: commits fail after %ld more", atol(v));
		store_fail_commits_after(atol(v));
	}
	v = getenv("SANDBOXD_TEST_COMMIT_DELAY_MS");
	if (v != NULL && *v != '\0') {
		log_warnx("test hook: commits wait %ld ms", atol(v));
		store_delay_commits((unsigned int)atol(v));
	}
#endif
}

/*
 * Every running sandbox holds a pidfd: a soft limit of 1024 descriptors
 * would stop Start at about a thousand sandboxes.  Take the hard limit.
 */
static void
raise_fd_limit(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("cannot raise the open file limit");
	else
		log_debug("open file limit raised to %llu",
		    (unsigned long long)rl.rlim_cur);
}

/* Descriptors besides LevelDB's, connections and sandboxes: stdio, the
 * log, the socket, signals, epoll, the helpers' sockets, /proc reads. */
#define FD_FIXED	64
/* Left at least for sandboxes when the connection cap has to come down. */
#define FD_SANDBOXES_MIN	128

/*
 * Connections, sandboxes and LevelDB share one descriptor limit, and a
 * LevelDB that cannot open a file fails the commit, which ends the
 * daemon.  So: the limit must hold LevelDB's files, the fixed ones, every
 * connection the caps allow and some sandboxes; if not, the connection
 * caps come down (logged).  Then Starts are refused (procmgr's
 * proc_fds_check) before they eat into what LevelDB and the connections
 * may need: a Start can be retried, a failed commit cannot.
 */
static void
fit_fd_limit(struct config *c)
{
	struct rlimit		rl;
	unsigned long long	limit, fixed = STORE_FDS + FD_FIXED, room;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit RLIMIT_NOFILE");
	limit = rl.rlim_cur == RLIM_INFINITY ? ULLONG_MAX : rl.rlim_cur;
	if (limit < fixed + FD_SANDBOXES_MIN + 1)
		fatalx("the open file limit, %llu, is too low: sandboxd needs "
		    "%llu for the store and itself and more for connections "
		    "and sandboxes", limit, fixed);
	room = limit - fixed - FD_SANDBOXES_MIN;
	if (c->max_connections > room) {
		log_warnx("open file limit %llu: limits.max_connections lowered "
		    "from %u to %llu (%u descriptors kept for the store, %u "
		    "for sandboxes at least)", limit, c->max_connections, room,
		    STORE_FDS, FD_SANDBOXES_MIN);
		c->max_connections = (unsigned int)room;
	}
	if (c->max_connections_per_uid > c->max_connections) {
		log_warnx("limits.max_connections_per_uid lowered from %u to %u",
		    c->max_connections_per_uid, c->max_connections);
		c->max_connections_per_uid = c->max_connections;
	}
	proc_fds_set_reserve(STORE_FDS + c->max_connections);
}

/*
 * Containers: runc with its state under the run dir unless told, and the
 * daemon as their subreaper, so that a container's init, orphaned when
 * runc create exits, becomes the daemon's child and its exit status
 * reaches the daemon.
 */
static void
setup_runc(const struct config *c)
{
	static char	*root;	/* kept: runc_configure may keep it */

	if (c->runc_root == NULL && root == NULL)
		xasprintf(&root, "%s/runc", c->run_dir);
	runc_configure(c->runc_path != NULL ? c->runc_path : "runc",
	    c->runc_root != NULL ? c->runc_root : root);
	if (subreaper_enable() == -1)
		log_warn("cannot become the containers' subreaper: their exit "
		    "statuses will be lost");
}

/*
 * Sandbox logs live off the store's file system unless told otherwise
 * (<run_dir>/logs, a tmpfs on most hosts), capped and rotated by procmgr
 * (proc_log.c): a sandbox's output must not fill the disk the store
 * commits to.
 */
static void
setup_sandbox_logs(struct config *c)
{
	char	*dir;

	if (c->log_dir != NULL)
		dir = xstrdup(c->log_dir);
	else
		xasprintf(&dir, "%s/logs", c->run_dir);
	make_dir(dir, 0700);
	proc_log_set_dir(dir);
	proc_log_set_max(c->sandbox_log_bytes);
	free(dir);
}

/* Open state, recover sandboxes, then serve. */
static int
serve(void)
{
	struct event	*ev_term, *ev_int, *ev_hup, *ev_usr2;
	char		*cause = NULL, *pause, *keeper;
	int		 status;

	raise_fd_limit();
	fit_fd_limit(cfg);
	make_dir(cfg->state_dir, 0700);
	make_dir(cfg->run_dir, 0700);
	setup_sandbox_logs(cfg);
	/* First, so that the helpers hold none of the daemon's files. */
	if (netns_worker_start(&cause) == -1) {
		log_warnx("no network namespace helper (%s): namespaces are "
		    "made on the loop", cause);
		free(cause);
		cause = NULL;
	}
	if (store_open(cfg->state_dir, &cause) == -1)
		fatalx("cannot open the store in %s: %s", cfg->state_dir, cause);
	if ((server_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (proc_init(server_base, &cause) == -1)
		fatalx("process manager: %s", cause);
	netns_worker_init(server_base);
	setup_runc(cfg);
	events_init(server_base, cfg->state_dir);
	pause = find_program(cfg->pause_path, "sandboxd-pause");
	runtime_set_pause_path(pause);
	free(pause);
	keeper = find_program(cfg->keeper_path, "sandboxd-keeper");
	free(cfg->keeper_path);
	cfg->keeper_path = keeper;
	apply_test_hooks();
	handlers_configure(cfg->state_dir, cfg->run_dir, cfg->default_runtime,
	    cfg->max_sandboxes_per_namespace);
	handover_give_io();
	/* After a crash: the keeper's pidfds, for recovery (keep_pids.c). */
	if (!handover_loaded())
		keep_pids_take();
	handlers_recover(server_base);
	keep_pids_done();
	if (store_pending() && store_commit(&cause) == -1)
		fatalx("cannot save recovered state: %s", cause);
	if (handover_listen(server_base, &cause) == -1)
		fatalx("%s", cause);
	ev_term = evsignal_new(server_base, SIGTERM, signal_quit_cb, NULL);
	ev_int = evsignal_new(server_base, SIGINT, signal_quit_cb, NULL);
	ev_hup = evsignal_new(server_base, SIGHUP, signal_hup_cb, NULL);
	ev_usr2 = evsignal_new(server_base, SIGUSR2, signal_reexec_cb, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	evsignal_add(ev_usr2, NULL);
	log_info("sandboxd %s ready: state %s, run %s, pause %s",
	    SANDBOXD_VERSION, cfg->state_dir, cfg->run_dir,
	    runtime_pause_path());
	/* After a re-exec: the clients of the previous image; else those a
	 * keeper kept through a crash.  The answers to their calls
	 * dispatched again leave after this first commit. */
	if (handover_loaded())
		handover_restore(server_base);
	else
		keep_resume(server_base);
	keep_pids_attach();
	loop_after_iteration();

	status = loop_run(server_base);

	listener_close();
	handlers_release_all();
	events_fini();
	netns_worker_stop();
	proc_shutdown();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_usr2);
	/* The keeper's grace period starts: connections stay open for it. */
	keeper_detach();
	event_base_free(server_base);
	store_close();
	log_info("exiting with status %d", status);
	return (status);
}

int
main(int argc, char **argv)
{
	static struct config	config;
	struct cmdline		cl;
	char			*log_path = NULL;
	int			 status;
	bool			 reexeced;

	/* Everything sandboxd makes is its own: the store holds labels and
	 * specs, the run dir sockets and logs (listener.c widens the socket
	 * on purpose). */
	umask(077);
	reexec_init(argv);
	parse_cmdline(argc, argv, &cl);
	load_settings(&cl, &config);
	cfg = &config;
	/* Re-executed: read the hand-over before any file is opened, and
	 * stay the same process (no daemon(): the pid must not change). */
	reexeced = getenv(HANDOVER_ENV) != NULL;
	handover_load();
	absolute_path(&config.pause_path, "pause path");
	absolute_path(&config.keeper_path, "keeper path");
	signal(SIGPIPE, SIG_IGN);
	if (cfg->log_file != NULL)
		log_path = xstrdup(cfg->log_file);
	else if (!cfg->foreground)
		xasprintf(&log_path, "%s/sandboxd.log", cfg->state_dir);
	if (!cfg->foreground && !reexeced) {
		make_dir(cfg->state_dir, 0700);
		if (daemon(0, 0) == -1) {
			perror("sandboxd: daemon");
			return (1);
		}
	}
	log_init(log_path, cfg->log_level);
	free(log_path);
	handover_log_notes();
	status = serve();
	config_free(&config);
	return (status);
}
