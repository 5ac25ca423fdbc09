/*
 * fuzz_decode.c: libFuzzer target for each request decoder on its own.
 * The first input byte picks a method (fuzz_methods[], modulo its size),
 * the rest is that method's request message, decoded with msg_decode,
 * encoded again and released, so the fuzzer mutates the message itself
 * instead of first having to keep an envelope valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pbutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Decode, re-encode and release one request. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_method	*m;
	void				*req;
	uint8_t				*copy, *out = NULL;
	size_t				 outlen = 0;
	char				*cause = NULL;

	if (size < 1)
		return (0);
	m = &fuzz_methods[data[0] % fuzz_nmethods];
	/* An exact copy, so ASan sees any read past the message. */
	if ((copy = malloc(size - 1 ? size - 1 : 1)) == NULL ||
	    (req = calloc(1, m->size)) == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	if (msg_decode(m->fields, req, copy, size - 1, &cause)) {
		fuzz_features(m->fields, req, 0);
		if (msg_encode(m->fields, req, &out, &outlen, &cause))
			free(out);
		msg_release(m->fields, req);
	}
	free(cause);
	free(req);
	free(copy);
	return (0);
}
