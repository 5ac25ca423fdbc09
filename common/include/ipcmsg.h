/*
 * ipcmsg.h: framed messages between the daemon and the processes it
 * forks, in the manner of OpenBSD's imsg.  A message is a type, a payload
 * of bounded length and up to IPCMSG_MAX_FDS descriptors (SCM_RIGHTS),
 * sent as one packet on a SOCK_SEQPACKET socket, so a message is never
 * split and never merged with the next.
 *
 * A sender fills a caller's buffer: ipcmsg_init, then ipcmsg_add* in
 * order; an add that does not fit marks the message full, and sending a
 * full message fails (EMSGSIZE) without sending anything.  A receiver
 * gets the payload in its own buffer and takes it apart in the same order
 * with ipcmsg_get*.  A packet that is cut short, longer than the buffer,
 * or whose header disagrees with its length is refused as EBADMSG, its
 * descriptors closed.  The types are the users' own.
 */
#ifndef SANDBOXD_IPCMSG_H
#define SANDBOXD_IPCMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPCMSG_LEN_MAX	(128 * 1024)	/* payload bytes in one message */
#define IPCMSG_MAX_FDS	2		/* descriptors one message may carry */

/* What precedes every payload on the wire. */
struct ipcmsg_hdr {
	uint32_t	type;
	uint32_t	len;		/* payload bytes, header excluded */
};

/* One message, being built or taken apart; data is the caller's. */
struct ipcmsg {
	uint32_t	 type;
	unsigned char	*data;
	size_t		 size;		/* room in data */
	size_t		 len;		/* payload bytes in data */
	size_t		 off;		/* where the next ipcmsg_get reads */
	int		 fds[IPCMSG_MAX_FDS];
	int		 nfds;
	bool		 full;		/* an add did not fit */
};

/* ipcmsg.c */
void		 ipcmsg_init(struct ipcmsg *, uint32_t, void *, size_t);
int		 ipcmsg_add(struct ipcmsg *, const void *, size_t);
int		 ipcmsg_add_str(struct ipcmsg *, const char *);
int		 ipcmsg_add_fd(struct ipcmsg *, int);
int		 ipcmsg_send(int, const struct ipcmsg *, int);
int		 ipcmsg_recv(int, struct ipcmsg *, void *, size_t, int);
int		 ipcmsg_get(struct ipcmsg *, void *, size_t);
char		*ipcmsg_get_str(struct ipcmsg *);
void		 ipcmsg_close_fds(struct ipcmsg *);

#endif /* SANDBOXD_IPCMSG_H */
