/*
 * keep.h: the marks a connection leaves in its keeper slot while it reads
 * and writes (keep.c has the rest).  They are plain stores into memory
 * the keeper shares, so that they outlive the daemon: one per read and
 * one per write, no system call.
 */
#ifndef SANDBOXD_KEEP_H
#define SANDBOXD_KEEP_H

#include "keeper.h"
#include "server.h"

/* c holds bytes the peer sent or owes it bytes: not resumable as it is. */
static inline void
keep_dirty(struct conn *c, uint32_t what)
{
	if (c->ks != NULL)
		c->ks->dirty |= what;
}

/* c is back at a frame boundary on that side. */
static inline void
keep_clean(struct conn *c, uint32_t what)
{
	if (c->ks != NULL)
		c->ks->dirty &= ~what;
}

#endif /* SANDBOXD_KEEP_H */
