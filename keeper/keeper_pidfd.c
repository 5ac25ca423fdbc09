/*
 * keeper_pidfd.c: the daemon's side of the keeper's pidfd copies
 * (HOLD_PID, DROP_PID, TAKE_PIDS in keeper_wire.h; keeper_pids.c is the
 * keeper's side).  The daemon holds every watched process's pidfd there
 * so that a process that exits while no daemon runs still has a pidfd
 * open at its reap, and the kernel keeps its exit status for the next
 * daemon (procmgr/pidinfo.c reads it).
 *
 * HOLD_PID and DROP_PID are sent without an answer, on the same
 * non-blocking connection as the slots' messages.  A keeper that does not
 * read for a moment (a burst of starts) makes a send wait for room once,
 * for KEEPER_PID_SEND_MS; if it is still full, the connection counts as
 * congested and later sends do not wait until one gets through, so the
 * loop is never held up for more than that per episode.  A process not
 * held loses its status only if the daemon dies before it exits; a DROP
 * not sent leaves a copy the next restart lets go.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keeper_int.h"
#include "keeper_wire.h"
#include "log.h"
#include "xmalloc.h"

#define KEEPER_PID_SEND_MS	100	/* room awaited for one message */

static bool	kp_congested;		/* the last wait for room failed */

/* Send one pid message (fd: -1 for none); 0, or -1. */
static int
kp_send(uint32_t type, int pid, uint64_t start_time, int fd)
{
	struct keeper_msg_pid	 m;
	struct pollfd		 pfd;
	int			 kfd = keeper_conn_fd(), tries;

	if (kfd == -1)
		return (-1);
	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, type);
	m.key.pid = (uint32_t)pid;
	m.key.start_time = start_time;
	for (tries = 0; tries < 2; tries++) {
		if (keeper_msg_send(kfd, &m, sizeof(m), &fd,
		    fd == -1 ? 0 : 1) == 0) {
			kp_congested = false;
			return (0);
		}
		if (errno != EAGAIN || kp_congested || tries > 0)
			break;
		pfd.fd = kfd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, KEEPER_PID_SEND_MS);
	}
	if (errno == EAGAIN)
		kp_congested = true;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
		keeper_conn_lost("the keeper closed its connection");
	else
		log_debug("keeper: %s of pid %d not sent: %s",
		    type == KEEPER_MSG_HOLD_PID ? "HOLD_PID" : "DROP_PID", pid,
		    strerror(errno));
	return (-1);
}

int
keeper_hold_pid(int pidfd, int pid, uint64_t start_time)
{
	return (kp_send(KEEPER_MSG_HOLD_PID, pid, start_time, pidfd));
}

void
keeper_drop_pid(int pid, uint64_t start_time)
{
	(void)kp_send(KEEPER_MSG_DROP_PID, pid, start_time, -1);
}

/* One PIDS batch: hand each over; *after becomes the last key. */
static int
kp_take_batch(struct keeper_packet *p, struct keeper_pid_key *after,
    void (*cb)(void *, int, uint64_t, int), void *arg, char **err)
{
	const struct keeper_pid_key	*k;
	uint32_t			 i;

	for (i = 0; i < p->m.pids.n; i++) {
		k = &p->m.pids.keys[i];
		if (k->pid < after->pid || (k->pid == after->pid &&
		    k->start_time <= after->start_time)) {
			xasprintf(err, "the keeper sent pid %u out of order",
			    k->pid);
			for (; i < p->m.pids.n; i++)
				close(p->fds[i]);
			return (-1);
		}
		*after = *k;
		cb(arg, (int)k->pid, k->start_time, p->fds[i]);
	}
	return (0);
}

/* Ask for the held pidfds batch by batch until END. */
int
keeper_take_pids(void (*cb)(void *, int, uint64_t, int), void *arg,
    char **err)
{
	struct keeper_msg_pid	m;
	struct keeper_packet	p;
	int			kfd = keeper_conn_fd(), n = 0;

	*err = NULL;
	if (kfd == -1) {
		xasprintf(err, "no keeper");
		return (-1);
	}
	memset(&m, 0, sizeof(m));
	keeper_msg_init(&m.hdr, KEEPER_MSG_TAKE_PIDS);
	for (;;) {
		if (keeper_msg_send(kfd, &m, sizeof(m), NULL, 0) == -1) {
			xasprintf(err, "to the keeper: %s", strerror(errno));
			goto fail;
		}
		if (keeper_conn_recv(&p, err) == -1)
			goto fail;
		if (p.m.hdr.type == KEEPER_MSG_END)
			return (n);
		if (p.m.hdr.type != KEEPER_MSG_PIDS) {
			keeper_packet_close(&p);
			xasprintf(err, "the keeper answered TAKE_PIDS with "
			    "message %u", p.m.hdr.type);
			goto fail;
		}
		if (kp_take_batch(&p, &m.key, cb, arg, err) == -1)
			goto fail;
		n += (int)p.m.pids.n;
	}
fail:
	keeper_conn_lost(*err);
	return (-1);
}
