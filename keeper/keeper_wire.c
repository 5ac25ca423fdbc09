/*
 * keeper_wire.c: sending and receiving the keeper's messages (see
 * keeper_wire.h).  One sendmsg per message, one recvmsg per message;
 * nothing received is believed before keeper_msg_check.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"
#include "keeper_wire.h"

/* Room for the most descriptors a message may carry. */
union keeper_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(KEEPER_FDS_MAX * sizeof(int))];
};

/* Fill a header: type and this build's version. */
void
keeper_msg_init(struct keeper_hdr *h, uint32_t type)
{
	h->type = type;
	h->version = KEEPER_WIRE_VERSION;
}

/* The length of an FDS message naming n slots. */
size_t
keeper_fds_len(uint32_t n)
{
	return (offsetof(struct keeper_msg_fds, slots) + n * sizeof(uint32_t));
}

/* Send len bytes of msg with nfds descriptors (still the caller's). */
int
keeper_msg_send(int fd, const void *msg, size_t len, const int *fds, int nfds)
{
	union keeper_cmsg	 cm;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	ssize_t			 n;

	if (nfds < 0 || nfds > KEEPER_FDS_MAX) {
		errno = EINVAL;
		return (-1);
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)msg;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return (-1);
	}
	return (0);
}

/* Collect the descriptors of every SCM_RIGHTS record; 0 if there were too many. */
static int
keeper_collect_fds(struct msghdr *mh, struct keeper_packet *p)
{
	struct cmsghdr	*c;
	size_t		 i, n;
	int		 fd, ok = 1;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (p->nfds < KEEPER_FDS_MAX)
				p->fds[p->nfds++] = fd;
			else {
				close(fd);
				ok = 0;
			}
		}
	}
	return (ok);
}

/*
 * Receive one message: 1, 0 at end of file, -1 with errno (EAGAIN, or
 * EBADMSG for a packet longer than any message or whose descriptors were
 * cut short; what arrived of it is closed).  Descriptors are close-on-exec.
 */
int
keeper_msg_recv(int fd, struct keeper_packet *p)
{
	union keeper_cmsg	cm;
	struct msghdr		mh;
	struct iovec		iov;
	ssize_t			n;
	int			ok;

	memset(p, 0, sizeof(*p));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &p->m;
	iov.iov_len = sizeof(p->m);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	ok = keeper_collect_fds(&mh, p);
	p->len = (size_t)n;
	if (!ok || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		keeper_packet_close(p);
		errno = EBADMSG;
		return (-1);
	}
	if (n == 0) {
		/* A packet of no bytes reads as the end: treat it so. */
		keeper_packet_close(p);
		return (0);
	}
	return (1);
}

/* The exact length a message of this type must have; 0 if none is fixed. */
static size_t
keeper_msg_len(uint32_t type)
{
	switch (type) {
	case KEEPER_MSG_HELLO:
		return (sizeof(struct keeper_msg_hello));
	case KEEPER_MSG_WELCOME:
		return (sizeof(struct keeper_msg_welcome));
	case KEEPER_MSG_REFUSED:
		return (sizeof(struct keeper_msg_refused));
	case KEEPER_MSG_TAKE:
	case KEEPER_MSG_HOLD:
	case KEEPER_MSG_DROP:
		return (sizeof(struct keeper_msg_slot));
	case KEEPER_MSG_END:
	case KEEPER_MSG_MAP:
		return (sizeof(struct keeper_hdr));
	case KEEPER_MSG_HOLD_PID:
	case KEEPER_MSG_DROP_PID:
	case KEEPER_MSG_TAKE_PIDS:
		return (sizeof(struct keeper_msg_pid));
	default:
		return (0);
	}
}

/* How many descriptors a well-formed message of this type carries. */
static int
keeper_msg_nfds(const union keeper_msg *m)
{
	switch (m->hdr.type) {
	case KEEPER_MSG_WELCOME:
	case KEEPER_MSG_HOLD:
	case KEEPER_MSG_HOLD_PID:
		return (1);
	case KEEPER_MSG_FDS:
		return ((int)m->fds.n);
	case KEEPER_MSG_PIDS:
		return ((int)m->pids.n);
	default:
		return (0);
	}
}

/* Is the FDS message p holds consistent: a count in range, its length? */
static int
keeper_fds_check(const struct keeper_packet *p)
{
	if (p->len < offsetof(struct keeper_msg_fds, slots))
		return (0);
	if (p->m.fds.n < 1 || p->m.fds.n > KEEPER_FDS_MAX)
		return (0);
	return (p->len == keeper_fds_len(p->m.fds.n));
}

/* Length of a PIDS message with n keys. */
size_t
keeper_pids_len(uint32_t n)
{
	return (offsetof(struct keeper_msg_pids, keys) +
	    n * sizeof(struct keeper_pid_key));
}

/* Is the PIDS message p holds consistent: a count in range, its length? */
static int
keeper_pids_check(const struct keeper_packet *p)
{
	if (p->len < offsetof(struct keeper_msg_pids, keys))
		return (0);
	if (p->m.pids.n < 1 || p->m.pids.n > KEEPER_FDS_MAX)
		return (0);
	return (p->len == keeper_pids_len(p->m.pids.n));
}

/*
 * 0 if the packet is a well-formed message: this version, a known type,
 * the type's length, as many descriptors as it should carry.  Else -1
 * with *why saying what is wrong (the caller closes its descriptors).
 */
int
keeper_msg_check(const struct keeper_packet *p, const char **why)
{
	const union keeper_msg	*m = &p->m;

	if (p->len < sizeof(struct keeper_hdr)) {
		*why = "a length shorter than a header";
		return (-1);
	}
	if (m->hdr.version != KEEPER_WIRE_VERSION) {
		*why = "another protocol version";
		return (-1);
	}
	if (m->hdr.type == KEEPER_MSG_FDS) {
		if (!keeper_fds_check(p)) {
			*why = "a count or length FDS cannot have";
			return (-1);
		}
	} else if (m->hdr.type == KEEPER_MSG_PIDS) {
		if (!keeper_pids_check(p)) {
			*why = "a bad PIDS message";
			return (-1);
		}
	} else if (keeper_msg_len(m->hdr.type) == 0) {
		*why = "an unknown type";
		return (-1);
	} else if (p->len != keeper_msg_len(m->hdr.type)) {
		*why = "the wrong length for its type";
		return (-1);
	}
	if (p->nfds != keeper_msg_nfds(m)) {
		*why = "the wrong number of descriptors for its type";
		return (-1);
	}
	if (m->hdr.type == KEEPER_MSG_REFUSED &&
	    memchr(m->refused.reason, '\0', sizeof(m->refused.reason)) == NULL) {
		*why = "an unterminated reason";
		return (-1);
	}
	return (0);
}

/* Close the descriptors a packet brought. */
void
keeper_packet_close(struct keeper_packet *p)
{
	int	i;

	for (i = 0; i < p->nfds; i++)
		close(p->fds[i]);
	p->nfds = 0;
}
