/*
 * keeper_client.c: the daemon's connection to sandboxd-keeper (keeper.h).
 *
 * The connection is non-blocking: HOLD and DROP are sent without waiting
 * (the keeper never answers them), and the few requests that have an
 * answer (HELLO, MAP, TAKE) wait for it with a bound.  The shared slots
 * stay mapped until keeper_detach even if the keeper dies, so a pointer
 * from keeper_slot never dangles; keeper_slot itself returns NULL then.
 * Which slots are in use is the daemon's own knowledge (used[]): the
 * keeper only holds descriptors.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "keeper_int.h"
#include "keeper_wire.h"
#include "log.h"
#include "xmalloc.h"

/* Rounds of connect-or-spawn before keeper_start gives up. */
#define KEEPER_START_TRIES	3
/* Send buffer toward the keeper: some 8000 HOLDs in flight. */
#define KEEPER_SNDBUF		(8 * 1024 * 1024)
/* How long a HOLD or DROP may wait for room once the buffer is full. */
#define KEEPER_SEND_WAIT_MS	100

static struct {
	int			 fd;		/* -1: no keeper */
	struct keeper_slot	*slots;		/* the shared table, mapped */
	size_t			 map_len;
	unsigned int		 nslots;
	unsigned char		*used;		/* by slot: in use by this daemon */
	unsigned int		 hint;		/* no free slot below it */
	bool			 taking;	/* keeper_start(take) without keeper_take yet */
	struct event		*ev;
} kc = { .fd = -1 };

/* Unmap and forget the table. */
static void
kc_unmap(void)
{
	if (kc.slots != NULL)
		munmap(kc.slots, kc.map_len);
	free(kc.used);
	kc.slots = NULL;
	kc.used = NULL;
	kc.map_len = 0;
	kc.nslots = 0;
	kc.hint = 0;
	kc.taking = false;
}

/* Close the connection; the table stays mapped (see above). */
static void
kc_close(void)
{
	if (kc.ev != NULL) {
		event_free(kc.ev);
		kc.ev = NULL;
	}
	if (kc.fd != -1)
		close(kc.fd);
	kc.fd = -1;
}

/* The keeper went away or misbehaved: carry on without one. */
static void
kc_lost(const char *why)
{
	log_warnx("keeper: %s; client connections are no longer protected "
	    "against a crash of the daemon", why);
	kc_close();
}

/*
 * Room for a burst of HOLDs while the keeper is not scheduled: a loop
 * iteration may accept thousands of connections, and a HOLD that does not
 * fit leaves its connection unprotected.  Root may exceed wmem_max.
 */
static void
kc_sndbuf(int fd)
{
	int	size = KEEPER_SNDBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* Connect to path: the fd, or -1 (errno). */
static int
kc_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (-1);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return (-1);
	}
	kc_sndbuf(fd);
	return (fd);
}

/* Wait for the keeper's answer on fd: 0, or -1 with *err (-2: it did
 * not answer in time). */
static int
kc_recv(int fd, struct keeper_packet *p, char **err)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	const char	*why;
	bool		 reset = false;
	int		 r;

	for (;;) {
		r = keeper_msg_recv(fd, p);
		if (r == 1)
			break;
		if (r == 0) {
			xasprintf(err, "the keeper closed the connection");
			return (-1);
		}
		/* A keeper that closed without reading what we sent makes
		 * the next read fail once; what it sent before is still
		 * there to read. */
		if (errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (errno != EAGAIN) {
			xasprintf(err, "from the keeper: %s", strerror(errno));
			return (-1);
		}
		if ((r = poll(&pfd, 1, KEEPER_REPLY_MS)) == 0) {
			/* Hung, not exiting: asking again would not help. */
			xasprintf(err, "the keeper did not answer within %d ms",
			    KEEPER_REPLY_MS);
			return (-2);
		}
		if (r == -1 && errno != EINTR) {
			xasprintf(err, "poll: %s", strerror(errno));
			return (-1);
		}
	}
	if (keeper_msg_check(p, &why) == -1) {
		keeper_packet_close(p);
		xasprintf(err, "the keeper sent a message with %s", why);
		return (-1);
	}
	return (0);
}

/* Map the table the WELCOME in p brought: 0, or -1 with *err. */
static int
kc_map(struct keeper_packet *p, char **err)
{
	const struct keeper_msg_welcome	*w = &p->m.welcome;
	void				*map;
	size_t				 len;

	if (w->slot_size != sizeof(struct keeper_slot) || w->nslots == 0) {
		xasprintf(err, "the keeper's slots (%u of %u bytes) are not "
		    "this daemon's (%zu bytes)", w->nslots, w->slot_size,
		    sizeof(struct keeper_slot));
		return (-1);
	}
	len = (size_t)w->nslots * sizeof(struct keeper_slot);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, p->fds[0], 0);
	if (map == MAP_FAILED) {
		xasprintf(err, "mapping the keeper's slots: %s", strerror(errno));
		return (-1);
	}
	kc_unmap();
	kc.slots = map;
	kc.map_len = len;
	kc.nslots = w->nslots;
	kc.used = xcalloc(w->nslots, 1);
	return (0);
}

/*
 * Send req on fd and expect WELCOME; map it.  0, -1 with *err, or -2
 * with *err if the keeper refused us or did not answer (trying again will
 * not help).  A
 * send that fails may have met a keeper that refused and closed: its
 * reason is still there to read.
 */
static int
kc_handshake(int fd, const void *req, size_t len, char **err)
{
	struct keeper_packet	 p;
	const char		*why;
	int			 r, saved;

	if (keeper_msg_send(fd, req, len, NULL, 0) == -1) {
		saved = errno;
		if (keeper_msg_recv(fd, &p) == 1 &&
		    keeper_msg_check(&p, &why) == 0 &&
		    p.m.hdr.type == KEEPER_MSG_REFUSED) {
			xasprintf(err, "the keeper refused: %s",
			    p.m.refused.reason);
			return (-2);
		}
		keeper_packet_close(&p);
		xasprintf(err, "to the keeper: %s", strerror(saved));
		return (-1);
	}
	if ((r = kc_recv(fd, &p, err)) != 0)
		return (r);
	if (p.m.hdr.type == KEEPER_MSG_REFUSED) {
		xasprintf(err, "the keeper refused: %s", p.m.refused.reason);
		return (-2);
	}
	if (p.m.hdr.type != KEEPER_MSG_WELCOME) {
		keeper_packet_close(&p);
		xasprintf(err, "the keeper answered with message %u",
		    p.m.hdr.type);
		return (-1);
	}
	r = kc_map(&p, err);
	if (r == 0 && p.m.welcome.nheld > 0)
		log_info("keeper: it holds %u connections", p.m.welcome.nheld);
	keeper_packet_close(&p);
	return (r);
}

/* HELLO on a new connection: 0, or -1 with *err. */
static int
kc_hello(int fd, bool take, char **err)
{
	struct keeper_msg_hello	m;

	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_HELLO);
	m.take = take;
	m.pid = (uint32_t)getpid();
	return (kc_handshake(fd, &m, sizeof(m), err));
}

/* Connect, spawning a keeper if nobody listens: the fd, or -1 with *err. */
static int
kc_reach(const struct keeper_opts *o, const char *path, char **err)
{
	int	fd;

	if ((fd = kc_connect(path)) != -1)
		return (fd);
	if (errno != ENOENT && errno != ECONNREFUSED) {
		xasprintf(err, "%s: %s", path, strerror(errno));
		return (-1);
	}
	/* Losing a race to another daemon's keeper is fine: connect to it. */
	if (keeper_spawn(o, err) == -1) {
		if ((fd = kc_connect(path)) != -1) {
			free(*err);
			*err = NULL;
		}
		return (fd);
	}
	if ((fd = kc_connect(path)) == -1)
		xasprintf(err, "%s: %s", path, strerror(errno));
	return (fd);
}

/*
 * Connect to the keeper (spawning one if needed) and map its slots.  A
 * keeper that closes the connection before WELCOME was exiting just as
 * we came: try again (a new one is spawned).
 */
int
keeper_start(const struct keeper_opts *o, bool take, char **err)
{
	char	*path;
	int	 fd = -1, r, tries;

	*err = NULL;
	if (kc.fd != -1) {
		xasprintf(err, "already connected to a keeper");
		return (-1);
	}
	xasprintf(&path, "%s/%s", o->run_dir, KEEPER_SOCK_NAME);
	for (tries = 0; tries < KEEPER_START_TRIES; tries++) {
		free(*err);
		*err = NULL;
		if ((fd = kc_reach(o, path, err)) == -1)
			continue;
		r = kc_hello(fd, take, err);
		if (r == 0)
			break;
		close(fd);
		fd = -1;
		if (r == -2)
			break;
	}
	free(path);
	if (fd == -1)
		return (-1);
	kc.fd = fd;
	kc.taking = take;
	if (kc.nslots != o->nslots)
		log_info("keeper: it has %u slots where %u were asked for (an "
		    "earlier daemon started it)", kc.nslots, o->nslots);
	return (0);
}

/* One FDS batch: hand each descriptor over; the next slot to ask for. */
static int
kc_take_batch(struct keeper_packet *p, uint32_t *from,
    void (*cb)(void *, unsigned int, int), void *arg, char **err)
{
	uint32_t	i, slot;

	for (i = 0; i < p->m.fds.n; i++) {
		slot = p->m.fds.slots[i];
		if (slot < *from || slot >= kc.nslots || kc.used[slot]) {
			xasprintf(err, "the keeper sent slot %u out of order",
			    slot);
			for (; i < p->m.fds.n; i++)
				close(p->fds[i]);
			return (-1);
		}
		kc.used[slot] = 1;
		*from = slot + 1;
		cb(arg, slot, p->fds[i]);
	}
	return (0);
}

/* Ask for the held sockets batch by batch until END. */
int
keeper_take(void (*cb)(void *, unsigned int, int), void *arg, char **err)
{
	struct keeper_msg_slot	m;
	struct keeper_packet	p;
	uint32_t		from = 0;

	*err = NULL;
	if (kc.fd == -1) {
		xasprintf(err, "no keeper");
		return (-1);
	}
	for (;;) {
		memset(&m, 0, sizeof(m));
		keeper_msg_init(&m.hdr, KEEPER_MSG_TAKE);
		m.slot = from;
		if (keeper_msg_send(kc.fd, &m, sizeof(m), NULL, 0) == -1) {
			xasprintf(err, "to the keeper: %s", strerror(errno));
			goto fail;
		}
		if (kc_recv(kc.fd, &p, err) != 0)
			goto fail;
		if (p.m.hdr.type == KEEPER_MSG_END)
			break;
		if (p.m.hdr.type != KEEPER_MSG_FDS) {
			keeper_packet_close(&p);
			xasprintf(err, "the keeper answered TAKE with message %u",
			    p.m.hdr.type);
			goto fail;
		}
		if (kc_take_batch(&p, &from, cb, arg, err) == -1)
			goto fail;
	}
	kc.taking = false;
	return (0);
fail:
	kc_lost(*err);
	return (-1);
}

bool
keeper_active(void)
{
	return (kc.fd != -1);
}

unsigned int
keeper_nslots(void)
{
	return (kc.fd != -1 ? kc.nslots : 0);
}

/*
 * The lowest free slot, zeroed and in use; -1 if none (or taking is
 * pending).  Lowest, so that the shared table's touched pages follow the
 * most connections ever open at once, not every connection ever accepted.
 */
int
keeper_slot_alloc(void)
{
	unsigned int	slot;

	if (kc.fd == -1 || kc.taking)
		return (-1);
	for (slot = kc.hint; slot < kc.nslots; slot++) {
		if (kc.used[slot])
			continue;
		kc.used[slot] = 1;
		kc.hint = slot + 1;
		memset(&kc.slots[slot], 0, sizeof(kc.slots[slot]));
		return ((int)slot);
	}
	kc.hint = kc.nslots;
	return (-1);
}

/* slot is free again: the next alloc may take it. */
static void
kc_slot_free(unsigned int slot)
{
	kc.used[slot] = 0;
	if (slot < kc.hint)
		kc.hint = slot;
}

void
keeper_slot_claim(unsigned int slot)
{
	if (kc.fd != -1 && slot < kc.nslots)
		kc.used[slot] = 1;
}

struct keeper_slot *
keeper_slot(unsigned int slot)
{
	if (kc.fd == -1 || slot >= kc.nslots)
		return (NULL);
	return (&kc.slots[slot]);
}

/* Send HOLD or DROP for slot; a dead keeper is noticed here too. */
static int
kc_send_slot(uint32_t type, unsigned int slot, int fd)
{
	struct keeper_msg_slot	m;

	struct pollfd		pfd = { .fd = kc.fd, .events = POLLOUT };
	int			r;

	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, type);
	m.slot = slot;
	r = keeper_msg_send(kc.fd, &m, sizeof(m), &fd, fd == -1 ? 0 : 1);
	if (r == -1 && errno == EAGAIN && poll(&pfd, 1, KEEPER_SEND_WAIT_MS) == 1)
		r = keeper_msg_send(kc.fd, &m, sizeof(m), &fd, fd == -1 ? 0 : 1);
	if (r == 0)
		return (0);
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
		kc_lost("the keeper closed its connection");
	else
		log_warn("keeper: %s for slot %u not sent",
		    type == KEEPER_MSG_HOLD ? "HOLD" : "DROP", slot);
	return (-1);
}

int
keeper_hold(unsigned int slot, int fd)
{
	if (kc.fd == -1 || slot >= kc.nslots || !kc.used[slot])
		return (-1);
	if (kc_send_slot(KEEPER_MSG_HOLD, slot, fd) == -1) {
		if (kc.used != NULL)
			kc_slot_free(slot);
		return (-1);
	}
	return (0);
}

void
keeper_drop(unsigned int slot)
{
	if (kc.fd == -1 || slot >= kc.nslots || !kc.used[slot])
		return;
	memset(&kc.slots[slot], 0, sizeof(kc.slots[slot]));
	kc_slot_free(slot);
	(void)kc_send_slot(KEEPER_MSG_DROP, slot, -1);
}

/* The keeper never speaks unasked: readable means gone (or confused). */
static void
keeper_watch_cb(evutil_socket_t fd, short events, void *arg)
{
	struct keeper_packet	p;
	int			r;

	(void)events;
	(void)arg;
	r = keeper_msg_recv(fd, &p);
	if (r == -1 && errno == EAGAIN)
		return;
	if (r == 1) {
		log_warnx("keeper: unexpected message %u, ignored",
		    p.m.hdr.type);
		keeper_packet_close(&p);
		return;
	}
	kc_lost(r == 0 ? "the keeper closed its connection" :
	    "reading from the keeper failed");
}

void
keeper_watch(struct event_base *base)
{
	if (kc.fd == -1 || kc.ev != NULL)
		return;
	kc.ev = event_new(base, kc.fd, EV_READ | EV_PERSIST, keeper_watch_cb,
	    NULL);
	if (kc.ev == NULL || event_add(kc.ev, NULL) == -1)
		kc_lost("cannot watch the keeper's connection");
}

int
keeper_export_fd(void)
{
	return (kc.fd);
}

/* A re-executed daemon: the same connection, the table mapped again. */
int
keeper_import_fd(int fd, char **err)
{
	struct keeper_hdr	m;

	*err = NULL;
	if (kc.fd != -1) {
		xasprintf(err, "already connected to a keeper");
		return (-1);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		xasprintf(err, "keeper fd %d: %s", fd, strerror(errno));
		return (-1);
	}
	keeper_msg_init(&m, KEEPER_MSG_MAP);
	if (kc_handshake(fd, &m, sizeof(m), err) != 0) {
		close(fd);
		return (-1);
	}
	kc.fd = fd;
	return (0);
}

/* keeper_pidfd.c's way to the connection: its fd (-1: none). */
int
keeper_conn_fd(void)
{
	return (kc.fd);
}

/* keeper_pidfd.c: wait for the keeper's answer, as the slots' take does. */
int
keeper_conn_recv(struct keeper_packet *p, char **err)
{
	return (kc_recv(kc.fd, p, err));
}

/* keeper_pidfd.c: the keeper is gone or confused; carry on without. */
void
keeper_conn_lost(const char *why)
{
	kc_lost(why);
}

void
keeper_detach(void)
{
	kc_close();
	kc_unmap();
}
