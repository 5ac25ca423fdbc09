/*
 * fuzz.h: what the fuzz targets and their seed generator share: the
 * request types a peer can reach, as server/dispatch.c's method table
 * names them.  The table is static in dispatch.c (the server module, which
 * needs the event loop); this copy keeps the fuzzer to common/ and the
 * generated descriptors.  fuzz_decode's first byte picks an entry, so keep
 * the order: append, never reorder, or committed crash inputs change
 * meaning.
 */
#ifndef SANDBOXD_FUZZ_H
#define SANDBOXD_FUZZ_H

#include <stddef.h>

#include <pb.h>

struct fuzz_method {
	const char		*service;
	const char		*name;
	const pb_msgdesc_t	*fields;
	size_t			 size;
};

/* fuzz_methods.c */
extern const struct fuzz_method	fuzz_methods[];
extern const size_t		fuzz_nmethods;
const struct fuzz_method	*fuzz_method_find(const char *, const char *);
void			 fuzz_features(const pb_msgdesc_t *, const void *,
			    unsigned int);

#endif /* SANDBOXD_FUZZ_H */
