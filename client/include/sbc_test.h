/*
 * sbc_test.h: what the client library shows its unit tests and nobody
 * else: the metadata conversions behind the typed calls, and a hook that
 * makes the library's own allocations fail, to prove that running out of
 * memory comes back as SBC_ERR_NOMEM instead of ending the program.
 */
#ifndef SANDBOXD_SBC_TEST_H
#define SANDBOXD_SBC_TEST_H

#include "containerd/types/sandbox.pb.h"
#include "sbc.h"

/* sbc_alloc.c */
void	sbc_test_alloc_fail(long, bool);
long	sbc_test_alloc_count(void);

/* sbc_meta.c */
int	sbc_meta_to_pb(const struct sbc_meta *, ct_Sandbox *,
	    struct sbc_error *);
int	sbc_meta_from_pb(struct sbc_meta *, const ct_Sandbox *);

#endif /* SANDBOXD_SBC_TEST_H */
