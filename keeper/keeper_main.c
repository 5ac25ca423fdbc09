/*
 * keeper_main.c: sandboxd-keeper, the per-host process that keeps the
 * daemon's client connections open across a crash of the daemon (see
 * keeper_loop.c for what it does, sandboxd-keeper(8) for how to run it).
 *
 * This file takes the options, makes sure only one keeper serves a
 * socket (a lock on the pid file, then the socket itself, unlinked only
 * when a connect to it fails), and cleans up at the end.  It is small on
 * purpose: poll(), no libevent, no LevelDB.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper_prog.h"
#include "keeper_wire.h"
#include "log.h"

#define KEEPER_DEFAULT_SLOTS	1088	/* the daemon's default 1024 connections + 64 */
#define KEEPER_DEFAULT_GRACE	60
#define KEEPER_MAX_SLOTS	(1U << 20)
#define KEEPER_MAX_GRACE	86400

static void __attribute__((__noreturn__))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: sandboxd-keeper (--run-dir DIR | --socket PATH) [--slots N]\n"
	    "                       [--grace SECS] [--log FILE] [--ready-fd FD]\n"
	    "Holds sandboxd's client connections across a crash of the daemon.\n"
	    "  --run-dir DIR   socket DIR/" KEEPER_SOCK_NAME ", pid file DIR/"
	    KEEPER_PID_NAME "\n"
	    "  --socket PATH   socket PATH, pid file PATH.pid\n"
	    "  --slots N       connections it can hold (default %u)\n"
	    "  --grace SECS    how long it waits for a daemon (default %u)\n"
	    "  --log FILE      log there (default: stderr)\n"
	    "  --ready-fd FD   write a byte to FD once listening, then close it\n",
	    KEEPER_DEFAULT_SLOTS, KEEPER_DEFAULT_GRACE);
	exit(status);
}

/* A decimal number in [min, max], or exit with a usage error. */
static unsigned int
parse_uint(const char *opt, const char *s, unsigned int min, unsigned int max)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < min || v > max) {
		fprintf(stderr, "sandboxd-keeper: %s wants a number from %u "
		    "to %u, not \"%s\"\n", opt, min, max, s);
		exit(KEEPER_EXIT_USAGE);
	}
	return ((unsigned int)v);
}

/* Join dir and name into a malloc'd path. */
static char *
path_join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) == -1) {
		fprintf(stderr, "sandboxd-keeper: out of memory\n");
		exit(KEEPER_EXIT_FAIL);
	}
	return (p);
}

/* Read the options into conf. */
static void
parse_options(int argc, char **argv, struct keeper_conf *conf)
{
	static const struct option longopts[] = {
		{ "run-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "slots", required_argument, NULL, 'n' },
		{ "grace", required_argument, NULL, 'g' },
		{ "log", required_argument, NULL, 'l' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*run_dir = NULL, *sock = NULL;
	int		 ch;

	memset(conf, 0, sizeof(*conf));
	conf->nslots = KEEPER_DEFAULT_SLOTS;
	conf->grace_secs = KEEPER_DEFAULT_GRACE;
	conf->ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': run_dir = optarg; break;
		case 's': sock = optarg; break;
		case 'n': conf->nslots = parse_uint("--slots", optarg, 1,
		    KEEPER_MAX_SLOTS); break;
		case 'g': conf->grace_secs = parse_uint("--grace", optarg, 0,
		    KEEPER_MAX_GRACE); break;
		case 'l': conf->log_file = optarg; break;
		case 'r': conf->ready_fd = (int)parse_uint("--ready-fd",
		    optarg, 0, INT_MAX); break;
		case 'h': usage(KEEPER_EXIT_OK);
		default: usage(KEEPER_EXIT_USAGE);
		}
	}
	if (optind != argc || (run_dir == NULL) == (sock == NULL))
		usage(KEEPER_EXIT_USAGE);
	if (run_dir != NULL) {
		conf->sock_path = path_join(run_dir, KEEPER_SOCK_NAME);
		conf->pid_path = path_join(run_dir, KEEPER_PID_NAME);
	} else {
		if ((conf->sock_path = strdup(sock)) == NULL ||
		    asprintf(&conf->pid_path, "%s.pid", sock) == -1) {
			fprintf(stderr, "sandboxd-keeper: out of memory\n");
			exit(KEEPER_EXIT_FAIL);
		}
	}
}

/*
 * Lock the pid file: the one keeper per socket holds it for its life.
 * Retries when the file it locked was unlinked meanwhile by a keeper
 * that was exiting.  -1 if another keeper holds it (errno EWOULDBLOCK).
 */
static int
pidfile_lock(const char *path)
{
	struct stat	a, b;
	int		fd, tries;

	for (tries = 0; tries < 10; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd == -1)
			return (-1);
		if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
			close(fd);
			return (-1);
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return (fd);
		close(fd);
	}
	errno = EAGAIN;
	return (-1);
}

/* Write our pid into the locked file. */
static int
pidfile_write(int fd)
{
	char	buf[32];
	int	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, n, 0) != n)
		return (-1);
	return (0);
}

/* Fill a sockaddr_un; -1 if the path does not fit. */
static int
sock_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		log_warnx("keeper: socket path too long: %s", path);
		return (-1);
	}
	strcpy(sun->sun_path, path);
	return (0);
}

/*
 * Remove a socket left by a keeper that died, but only once a connect to
 * it fails: 1 if one is alive there, 0 if the path is free, -1 on error.
 */
static int
sock_clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat	sb;
	int		fd, alive;

	if (lstat(path, &sb) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("keeper: %s exists and is not a socket", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (alive)
		return (1);
	log_info("keeper: removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return (-1);
	return (0);
}

/* Bind and listen on the socket, mode 0600. */
static int
sock_listen(const struct sockaddr_un *sun)
{
	mode_t	old;
	int	fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1 ||
	    listen(fd, 16) == -1) {
		umask(old);
		close(fd);
		return (-1);
	}
	umask(old);
	return (fd);
}

/* Ignore the signals a keeper must survive; SIGTERM arrives by signalfd. */
static int
signals_setup(void)
{
	sigset_t	set;

	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return (-1);
	return (signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

/* Room for every held copy, the memfd and the sockets. */
static void
raise_nofile(unsigned int nslots)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)nslots + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want;	/* root may raise it */
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("keeper: only %llu descriptors allowed for %u slots",
		    (unsigned long long)rl.rlim_cur, nslots);
}

/* Tell whoever spawned us that the socket listens. */
static void
report_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		log_warn("keeper: ready fd %d", fd);
	close(fd);
}

/* Take the pid file and the socket; an exit status if that fails, else -1. */
static int
claim_socket(const struct keeper_conf *conf, int *lock_fd, int *listen_fd)
{
	struct sockaddr_un	sun;
	int			r;

	if (sock_addr(conf->sock_path, &sun) == -1)
		return (KEEPER_EXIT_FAIL);
	if ((*lock_fd = pidfile_lock(conf->pid_path)) == -1) {
		if (errno == EWOULDBLOCK || errno == EAGAIN) {
			log_info("keeper: another keeper holds %s", conf->pid_path);
			return (KEEPER_EXIT_RUNNING);
		}
		log_warn("keeper: pid file %s", conf->pid_path);
		return (KEEPER_EXIT_FAIL);
	}
	if ((r = sock_clear_stale(conf->sock_path, &sun)) != 0) {
		if (r == 1)
			log_info("keeper: another keeper serves %s",
			    conf->sock_path);
		else
			log_warn("keeper: %s", conf->sock_path);
		close(*lock_fd);
		return (r == 1 ? KEEPER_EXIT_RUNNING : KEEPER_EXIT_FAIL);
	}
	if ((*listen_fd = sock_listen(&sun)) == -1 ||
	    pidfile_write(*lock_fd) == -1) {
		log_warn("keeper: listening on %s", conf->sock_path);
		if (*listen_fd != -1) {
			close(*listen_fd);
			unlink(conf->sock_path);
		}
		unlink(conf->pid_path);
		close(*lock_fd);
		return (KEEPER_EXIT_FAIL);
	}
	return (-1);
}

int
main(int argc, char **argv)
{
	struct keeper_conf	conf;
	int			lock_fd, listen_fd, sig_fd, status;

	parse_options(argc, argv, &conf);
	log_init(conf.log_file, LOG_LEVEL_INFO);
	sig_fd = signals_setup();
	if (sig_fd == -1) {
		log_warn("keeper: signals");
		status = KEEPER_EXIT_FAIL;
		goto out;
	}
	raise_nofile(conf.nslots);
	keeper_pids_raise_nofile();
	if ((status = claim_socket(&conf, &lock_fd, &listen_fd)) != -1)
		goto out;
	if (keeper_setup(&conf, listen_fd, sig_fd) == -1)
		status = KEEPER_EXIT_FAIL;
	else {
		log_info("keeper: pid %d listening on %s, %u slots, grace %u s",
		    (int)getpid(), conf.sock_path, conf.nslots, conf.grace_secs);
		report_ready(conf.ready_fd);
		conf.ready_fd = -1;
		status = keeper_serve();
	}
	/* The socket goes first: once the pid file is gone, a new keeper
	 * may take the lock and must find the path free. */
	close(listen_fd);
	unlink(conf.sock_path);
	unlink(conf.pid_path);
	close(lock_fd);
	log_info("keeper: pid %d exits (status %d)", (int)getpid(), status);
out:
	if (sig_fd != -1)
		close(sig_fd);
	if (conf.ready_fd >= 0)
		close(conf.ready_fd);	/* the spawner reads the end: not ready */
	free(conf.sock_path);
	free(conf.pid_path);
	return (status);
}
