/*
 * msgpool.h: memory for decoded requests and their responses, reused
 * from call to call.
 */
#ifndef SANDBOXD_MSGPOOL_H
#define SANDBOXD_MSGPOOL_H

#include <stddef.h>

/* msgpool.c */
void	*msgpool_get(size_t);
void	 msgpool_put(void *);

#endif /* SANDBOXD_MSGPOOL_H */
