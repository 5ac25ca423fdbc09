/*
 * keeper_int.h: the client library's private parts.
 */
#ifndef SANDBOXD_KEEPER_INT_H
#define SANDBOXD_KEEPER_INT_H

#include "keeper.h"

/* How long a new keeper may take to listen, and the keeper to answer. */
#define KEEPER_START_MS		2000
#define KEEPER_REPLY_MS		5000

/* keeper_client.c, for keeper_pidfd.c */
struct keeper_packet;
int	keeper_conn_fd(void);
int	keeper_conn_recv(struct keeper_packet *, char **);
void	keeper_conn_lost(const char *);

/* keeper_spawn.c */
int	keeper_spawn(const struct keeper_opts *, char **);

#endif /* SANDBOXD_KEEPER_INT_H */
