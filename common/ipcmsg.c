/*
 * ipcmsg.c: framed messages over a SOCK_SEQPACKET socket (see ipcmsg.h).
 * One sendmsg per message, header and payload gathered from two iovecs,
 * descriptors in one SCM_RIGHTS record; one recvmsg per message, checked
 * before anything in it is believed.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipcmsg.h"

/* Room for the most descriptors a message carries. */
union ipcmsg_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(IPCMSG_MAX_FDS * sizeof(int))];
};

/* Begin a message of type in buf (size bytes; at most IPCMSG_LEN_MAX used). */
void
ipcmsg_init(struct ipcmsg *m, uint32_t type, void *buf, size_t size)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->data = buf;
	m->size = size < IPCMSG_LEN_MAX ? size : IPCMSG_LEN_MAX;
}

/* Append n bytes to the payload; -1 (and the message full) if no room. */
int
ipcmsg_add(struct ipcmsg *m, const void *p, size_t n)
{
	if (m->full || n > m->size - m->len) {
		m->full = true;
		return (-1);
	}
	if (n > 0)
		memcpy(m->data + m->len, p, n);
	m->len += n;
	return (0);
}

/* Append a string with its NUL. */
int
ipcmsg_add_str(struct ipcmsg *m, const char *s)
{
	return (ipcmsg_add(m, s, strlen(s) + 1));
}

/* Pass fd along (it stays the caller's); -1 (full) past IPCMSG_MAX_FDS. */
int
ipcmsg_add_fd(struct ipcmsg *m, int fd)
{
	if (m->full || m->nfds == IPCMSG_MAX_FDS) {
		m->full = true;
		return (-1);
	}
	m->fds[m->nfds++] = fd;
	return (0);
}

/* Attach m's descriptors to msg as one SCM_RIGHTS record. */
static void
ipcmsg_attach_fds(struct msghdr *msg, union ipcmsg_cmsg *cm,
    const struct ipcmsg *m)
{
	struct cmsghdr	*c;
	size_t		 n = (size_t)m->nfds * sizeof(int);

	if (m->nfds == 0)
		return;
	memset(cm, 0, sizeof(*cm));
	msg->msg_control = cm->buf;
	msg->msg_controllen = CMSG_SPACE(n);
	c = CMSG_FIRSTHDR(msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n);
	memcpy(CMSG_DATA(c), m->fds, n);
}

/*
 * Send m as one packet (flags as for sendmsg; SIGPIPE never raised).  0,
 * or -1 with errno: EMSGSIZE for a full message, which is not sent.
 */
int
ipcmsg_send(int fd, const struct ipcmsg *m, int flags)
{
	struct ipcmsg_hdr	hdr = { m->type, (uint32_t)m->len };
	struct iovec		iov[2] = {
		{ &hdr, sizeof(hdr) }, { m->data, m->len }
	};
	union ipcmsg_cmsg	cm;
	struct msghdr		msg;
	ssize_t			n;

	if (m->full) {
		errno = EMSGSIZE;
		return (-1);
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	ipcmsg_attach_fds(&msg, &cm, m);
	do
		n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-1);
	return (0);
}

/* Take the received descriptors into m; false if more came than fit. */
static bool
ipcmsg_take_fds(struct msghdr *msg, struct ipcmsg *m)
{
	struct cmsghdr	*c;
	size_t		 i, n;
	int		 fd;
	bool		 ok = true;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (m->nfds < IPCMSG_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else {
				close(fd);
				ok = false;
			}
		}
	}
	return (ok && !(msg->msg_flags & MSG_CTRUNC));
}

/*
 * Receive one message into buf (size bytes) and m; descriptors come
 * close-on-exec.  1: a message; 0: the peer closed; -1 with errno, and
 * EBADMSG for a packet that is not a whole message (nothing kept of it).
 */
int
ipcmsg_recv(int fd, struct ipcmsg *m, void *buf, size_t size, int flags)
{
	struct ipcmsg_hdr	hdr;
	struct iovec		iov[2];
	union ipcmsg_cmsg	cm;
	struct msghdr		msg;
	ssize_t			n;
	bool			fds_ok;

	ipcmsg_init(m, 0, buf, size);
	iov[0] = (struct iovec){ &hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ m->data, m->size };
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (n == 0 ? 0 : -1);
	fds_ok = ipcmsg_take_fds(&msg, m);
	if (!fds_ok || (msg.msg_flags & MSG_TRUNC) || (size_t)n < sizeof(hdr) ||
	    hdr.len != (size_t)n - sizeof(hdr)) {
		ipcmsg_close_fds(m);
		errno = EBADMSG;
		return (-1);
	}
	m->type = hdr.type;
	m->len = hdr.len;
	return (1);
}

/* Take the next n payload bytes; -1 (EBADMSG) if fewer are left. */
int
ipcmsg_get(struct ipcmsg *m, void *p, size_t n)
{
	if (n > m->len - m->off) {
		errno = EBADMSG;
		return (-1);
	}
	if (n > 0)
		memcpy(p, m->data + m->off, n);
	m->off += n;
	return (0);
}

/* Take the next NUL-terminated string, in place; NULL if none is left. */
char *
ipcmsg_get_str(struct ipcmsg *m)
{
	char	*s = (char *)m->data + m->off, *nul = NULL;

	if (m->off < m->len)
		nul = memchr(s, '\0', m->len - m->off);
	if (nul == NULL) {
		errno = EBADMSG;
		return (NULL);
	}
	m->off += (size_t)(nul - s) + 1;
	return (s);
}

/* Close the descriptors a received message still holds. */
void
ipcmsg_close_fds(struct ipcmsg *m)
{
	while (m->nfds > 0)
		close(m->fds[--m->nfds]);
}
