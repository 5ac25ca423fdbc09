/*
 * keeper_loop.c: what sandboxd-keeper does once its socket listens.
 *
 * It holds, by slot, a duplicate of every client connection the daemon
 * accepted, and the memfd in which the daemon describes them.  One daemon
 * at a time is served; every other peer is refused.  The keeper only
 * answers requests, never waits for the daemon (its socket is
 * non-blocking, and a daemon that cannot take an answer is dropped), and
 * believes no message before checking it: it holds every connection of
 * the host, so a bad message is logged and ignored, never fatal.
 *
 * Copies are closed only on DROP, when no daemon has come back for
 * grace_secs, or on SIGTERM.  With no daemon and nothing held it exits.
 */
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"
#include "keeper_prog.h"
#include "keeper_wire.h"
#include "log.h"

/* Messages read from the daemon per poll round, so accepts are not starved. */
#define KEEPER_READS_PER_ROUND	64
/* With no daemon yet and nothing held, how long a new keeper waits. */
#define KEEPER_FIRST_WAIT_MIN	5

static struct {
	const struct keeper_conf *conf;
	int		 listen_fd;
	int		 sig_fd;
	int		 memfd;
	int		 daemon_fd;	/* -1: none connected */
	pid_t		 daemon_pid;	/* from SO_PEERCRED */
	bool		 hello;		/* the daemon has said HELLO */
	int		*held;		/* by slot; -1: free */
	unsigned int	 nheld;
	bool		 waiting;	/* no daemon: the deadline runs */
	struct timespec	 deadline;	/* CLOCK_MONOTONIC */
	bool		 paused;	/* out of descriptors: accept later */
	struct timespec	 resume;	/* CLOCK_MONOTONIC */
	int		 status;	/* exit status once done, else -1 */
} k;

/* The memfd the daemon maps: nslots slots, zero until written. */
static int
keeper_memfd(unsigned int nslots)
{
	int	fd;

	if ((fd = memfd_create("sandboxd-keeper-slots", MFD_CLOEXEC)) == -1) {
		log_warn("keeper: memfd_create");
		return (-1);
	}
	if (ftruncate(fd, (off_t)nslots * sizeof(struct keeper_slot)) == -1) {
		log_warn("keeper: ftruncate of the slots");
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Zero the shared slots (a fresh daemon must find no stale calls). */
static void
keeper_memfd_clear(void)
{
	off_t	size = (off_t)k.conf->nslots * sizeof(struct keeper_slot);

	if (ftruncate(k.memfd, 0) == -1 || ftruncate(k.memfd, size) == -1)
		log_warn("keeper: clearing the slots");
}

/* Start the clock: without a daemon for secs, the keeper gives up. */
static void
keeper_wait_start(unsigned int secs)
{
	clock_gettime(CLOCK_MONOTONIC, &k.deadline);
	k.deadline.tv_sec += secs;
	k.waiting = true;
}

/* Milliseconds until when (CLOCK_MONOTONIC), 0 if past. */
static int
keeper_ms_until(const struct timespec *when)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (when->tv_sec - now.tv_sec) * 1000LL +
	    (when->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return (0);
	return (ms > 1000000 ? 1000000 : (int)ms);
}

/* Milliseconds until the deadline (0 if past), or -1 if none runs. */
static int
keeper_wait_ms(void)
{
	return (k.waiting ? keeper_ms_until(&k.deadline) : -1);
}

/* Is the listening socket to be polled (not paused, or pause over)? */
static bool
keeper_listening(void)
{
	if (k.paused && keeper_ms_until(&k.resume) == 0)
		k.paused = false;
	return (!k.paused);
}

/* The poll timeout: the deadline's, or sooner if accepts are paused. */
static int
keeper_timeout(void)
{
	int	wait = keeper_wait_ms(), pause;

	if (!k.paused)
		return (wait);
	pause = keeper_ms_until(&k.resume);
	return (wait == -1 || pause < wait ? pause : wait);
}

/* Close every copy held. */
static void
keeper_release_all(void)
{
	unsigned int	i;

	for (i = 0; i < k.conf->nslots; i++) {
		if (k.held[i] != -1) {
			close(k.held[i]);
			k.held[i] = -1;
		}
	}
	k.nheld = 0;
	keeper_pids_release();
}

/* Send a message to fd; the peer is the daemon or one being refused. */
static int
keeper_send(int fd, const void *m, size_t len, const int *fds, int nfds)
{
	if (keeper_msg_send(fd, m, len, fds, nfds) == -1) {
		log_warn("keeper: sending to the daemon");
		return (-1);
	}
	return (0);
}

/*
 * Tell a peer why it is not served, and close it.  What it already sent
 * is read and discarded first: closing with it unread would make the
 * peer's next read fail with a reset before it could see the reason.
 */
static void
keeper_refuse(int fd, const char *reason)
{
	struct keeper_msg_refused	m;
	struct keeper_packet		p;
	int				i;

	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_REFUSED);
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	(void)keeper_msg_send(fd, &m, sizeof(m), NULL, 0);
	for (i = 0; i < 8; i++) {
		if (keeper_msg_recv(fd, &p) != 1)
			break;
		keeper_packet_close(&p);
	}
	close(fd);
}

/* The daemon went away (or is dropped): wait for the next one. */
static void
keeper_daemon_gone(const char *why)
{
	log_info("keeper: daemon pid %d %s; holding %u connections, grace %u s",
	    (int)k.daemon_pid, why, k.nheld, k.conf->grace_secs);
	close(k.daemon_fd);
	k.daemon_fd = -1;
	k.daemon_pid = 0;
	k.hello = false;
	if (k.nheld > 0 || keeper_pids_count() > 0)
		keeper_wait_start(k.conf->grace_secs);
}

/* WELCOME: the table's shape and the memfd. */
static int
keeper_welcome(void)
{
	struct keeper_msg_welcome	m;

	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_WELCOME);
	m.nslots = k.conf->nslots;
	m.slot_size = sizeof(struct keeper_slot);
	m.nheld = k.nheld;
	return (keeper_send(k.daemon_fd, &m, sizeof(m), &k.memfd, 1));
}

/* HELLO: a fresh daemon (take 0) wants nothing an earlier one left. */
static int
keeper_on_hello(const struct keeper_msg_hello *m)
{
	if (k.hello) {
		log_warnx("keeper: daemon pid %d said HELLO twice, ignored",
		    (int)k.daemon_pid);
		return (0);
	}
	k.hello = true;
	log_info("keeper: daemon pid %d connected (%s), %u connections held",
	    (int)k.daemon_pid, m->take ? "taking" : "fresh start", k.nheld);
	if (!m->take) {
		if (k.nheld > 0)
			log_info("keeper: a fresh daemon serves none of the %u "
			    "connections left: closing them", k.nheld);
		keeper_release_all();
		keeper_memfd_clear();
	}
	return (keeper_welcome());
}

/* TAKE {from}: the next held copies from slot `from` on, or END. */
static int
keeper_on_take(uint32_t from)
{
	struct keeper_msg_fds	m;
	int			fds[KEEPER_FDS_MAX];
	uint32_t		i, n = 0;

	if (from == 0)
		log_info("keeper: daemon pid %d takes %u connections",
		    (int)k.daemon_pid, k.nheld);
	memset(&m, 0, sizeof(m));
	for (i = from; i < k.conf->nslots && n < KEEPER_FDS_MAX; i++) {
		if (k.held[i] == -1)
			continue;
		m.slots[n] = i;
		fds[n++] = k.held[i];
	}
	if (n == 0) {
		keeper_msg_init(&m.hdr, KEEPER_MSG_END);
		return (keeper_send(k.daemon_fd, &m, sizeof(m.hdr), NULL, 0));
	}
	keeper_msg_init(&m.hdr, KEEPER_MSG_FDS);
	m.n = n;
	return (keeper_send(k.daemon_fd, &m, keeper_fds_len(n), fds, (int)n));
}

/* HOLD {slot} + fd: keep the copy.  A slot in use is the daemon's
 * word that the old connection is gone (its DROP was lost). */
static void
keeper_on_hold(uint32_t slot, int fd)
{
	if (slot >= k.conf->nslots) {
		log_warnx("keeper: HOLD for slot %u of %u, refused", slot,
		    k.conf->nslots);
		close(fd);
		return;
	}
	if (k.held[slot] != -1) {
		log_warnx("keeper: HOLD for slot %u in use: replacing it", slot);
		close(k.held[slot]);
		k.nheld--;
	}
	k.held[slot] = fd;
	k.nheld++;
}

/* DROP {slot}: the connection ended; close our copy. */
static void
keeper_on_drop(uint32_t slot)
{
	if (slot >= k.conf->nslots || k.held[slot] == -1) {
		log_warnx("keeper: DROP for slot %u, which holds nothing", slot);
		return;
	}
	close(k.held[slot]);
	k.held[slot] = -1;
	k.nheld--;
}

/* Act on one well-formed message; -1 if the daemon must be dropped. */
static int
keeper_on_msg(struct keeper_packet *p)
{
	uint32_t	type = p->m.hdr.type;

	if (!k.hello && type != KEEPER_MSG_HELLO) {
		log_warnx("keeper: message %u before HELLO", type);
		keeper_packet_close(p);
		return (-1);
	}
	switch (type) {
	case KEEPER_MSG_HELLO:
		return (keeper_on_hello(&p->m.hello));
	case KEEPER_MSG_MAP:
		return (keeper_welcome());
	case KEEPER_MSG_TAKE:
		return (keeper_on_take(p->m.slot.slot));
	case KEEPER_MSG_HOLD:
		keeper_on_hold(p->m.slot.slot, p->fds[0]);
		return (0);
	case KEEPER_MSG_DROP:
		keeper_on_drop(p->m.slot.slot);
		return (0);
	case KEEPER_MSG_HOLD_PID:
		keeper_pids_hold(&p->m.pid.key, p->fds[0]);
		return (0);
	case KEEPER_MSG_DROP_PID:
		keeper_pids_drop(&p->m.pid.key);
		return (0);
	case KEEPER_MSG_TAKE_PIDS:
		if (keeper_pids_take(k.daemon_fd, &p->m.pid.key) == -1) {
			log_warn("keeper: sending pidfds to the daemon");
			return (-1);
		}
		return (0);
	default:
		log_warnx("keeper: message %u is not the daemon's to send",
		    type);
		keeper_packet_close(p);
		return (0);
	}
}

/*
 * Read what the daemon sent, up to a round's worth: true if all of it was
 * read (or the daemon is gone), false if more is waiting.
 */
static bool
keeper_daemon_read(void)
{
	struct keeper_packet	p;
	const char		*why;
	int			 i, r;

	for (i = 0; i < KEEPER_READS_PER_ROUND; i++) {
		r = keeper_msg_recv(k.daemon_fd, &p);
		if (r == -1 && errno == EAGAIN)
			return (true);
		if (r == -1 && errno == EBADMSG) {
			log_warnx("keeper: a packet longer than any message, "
			    "or with descriptors cut short, ignored");
			continue;
		}
		if (r == -1 || r == 0) {
			keeper_daemon_gone(r == 0 ? "disconnected" :
			    "lost (read error)");
			return (true);
		}
		if (keeper_msg_check(&p, &why) == -1) {
			log_warnx("keeper: a message with %s, ignored", why);
			keeper_packet_close(&p);
			continue;
		}
		if (keeper_on_msg(&p) == -1) {
			keeper_daemon_gone("dropped");
			return (true);
		}
	}
	return (false);
}

/* A new peer: refuse another uid, and anyone while a daemon is served. */
static void
keeper_accept(void)
{
	struct ucred	cred;
	socklen_t	len = sizeof(cred);
	char		reason[KEEPER_REASON_MAX];
	int		fd;

	fd = accept4(k.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* The backlog stays readable: poll it again in a
			 * second rather than spin on it. */
			log_warn("keeper: accept, retrying in 1 s");
			clock_gettime(CLOCK_MONOTONIC, &k.resume);
			k.resume.tv_sec++;
			k.paused = true;
		} else if (errno != EAGAIN && errno != ECONNABORTED)
			log_warn("keeper: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("keeper: SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid != geteuid()) {
		log_warnx("keeper: refused pid %d of uid %u", (int)cred.pid,
		    (unsigned int)cred.uid);
		snprintf(reason, sizeof(reason), "uid %u may not use the "
		    "keeper of uid %u", (unsigned int)cred.uid,
		    (unsigned int)geteuid());
		keeper_refuse(fd, reason);
		return;
	}
	if (k.daemon_fd != -1) {
		log_warnx("keeper: refused pid %d: serving daemon pid %d",
		    (int)cred.pid, (int)k.daemon_pid);
		snprintf(reason, sizeof(reason), "the keeper serves another "
		    "daemon, pid %d", (int)k.daemon_pid);
		keeper_refuse(fd, reason);
		return;
	}
	k.daemon_fd = fd;
	k.daemon_pid = cred.pid;
	k.waiting = false;
}

/* SIGTERM: stop. */
static void
keeper_signal(void)
{
	struct signalfd_siginfo	si;

	if (read(k.sig_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	log_info("keeper: received signal %u, closing %u connections",
	    si.ssi_signo, k.nheld);
	keeper_release_all();
	k.status = KEEPER_EXIT_OK;
}

/* The deadline passed with no daemon: close everything and stop. */
static void
keeper_expire(void)
{
	if (k.nheld > 0)
		log_info("keeper: no daemon for %u s: grace expired, closing "
		    "%u connections", k.conf->grace_secs, k.nheld);
	else
		log_info("keeper: no daemon came, exiting");
	keeper_release_all();
	k.status = KEEPER_EXIT_OK;
}

/* One poll round. */
static void
keeper_round(void)
{
	struct pollfd	pfd[3];
	bool		drained = true;
	int		n, timeout = keeper_timeout();

	pfd[0] = (struct pollfd){ .fd = k.sig_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = k.daemon_fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = keeper_listening() ? k.listen_fd : -1,
	    .events = POLLIN };
	if ((n = poll(pfd, 3, timeout)) == -1) {
		if (errno != EINTR)
			log_warn("keeper: poll");
		return;
	}
	if (pfd[0].revents & POLLIN) {
		keeper_signal();
		return;
	}
	if (n == 0 && k.waiting && keeper_wait_ms() == 0) {
		keeper_expire();
		return;
	}
	/* The daemon first, all of it: a dead one's end must be seen
	 * before the connect of the next one is judged. */
	if (k.daemon_fd != -1 && pfd[1].revents != 0)
		drained = keeper_daemon_read();
	if ((pfd[2].revents & POLLIN) && drained)
		keeper_accept();
}

/* Allocate the table of held copies and the memfd, before saying ready. */
int
keeper_setup(const struct keeper_conf *conf, int listen_fd, int sig_fd)
{
	unsigned int	i;

	memset(&k, 0, sizeof(k));
	k.conf = conf;
	k.listen_fd = listen_fd;
	k.sig_fd = sig_fd;
	k.daemon_fd = -1;
	k.status = -1;
	if ((k.memfd = keeper_memfd(conf->nslots)) == -1)
		return (-1);
	if ((k.held = calloc(conf->nslots, sizeof(*k.held))) == NULL) {
		log_warn("keeper: %u slots", conf->nslots);
		close(k.memfd);
		return (-1);
	}
	for (i = 0; i < conf->nslots; i++)
		k.held[i] = -1;
	return (0);
}

/*
 * Serve until SIGTERM, grace expiry, or nothing left to do; returns the
 * exit status.  A new keeper waits for its first daemon for the grace
 * period (at least KEEPER_FIRST_WAIT_MIN s).
 */
int
keeper_serve(void)
{
	const struct keeper_conf	*conf = k.conf;
	bool				 served = false;

	keeper_wait_start(conf->grace_secs > KEEPER_FIRST_WAIT_MIN ?
	    conf->grace_secs : KEEPER_FIRST_WAIT_MIN);
	while (k.status == -1) {
		if (k.daemon_fd != -1)
			served = true;
		else if (served && k.nheld == 0 && keeper_pids_count() == 0) {
			log_info("keeper: no daemon and nothing held, exiting");
			k.status = KEEPER_EXIT_OK;
			break;
		}
		keeper_round();
	}
	if (k.daemon_fd != -1)
		close(k.daemon_fd);
	close(k.memfd);
	free(k.held);
	return (k.status);
}
