/*
 * sbc_alloc.c: the client library's allocations and codec calls.
 *
 * The library is linked into other programs, so running out of memory is
 * their decision, not the library's: unlike common/'s xmalloc family
 * (which exits), these return NULL and the public calls turn that into
 * SBC_ERR_NOMEM.  For the same reason the library encodes with its own
 * allocator rather than through msg_encode.  A test-only counter
 * (sbc_test.h) makes allocations fail on demand, so that every failure
 * path can be exercised.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "sbc_int.h"

/* The allocation that fails (-1: none) and whether all after it do too. */
static long	fail_at = -1;
static bool	fail_rest;
/* Allocations tried since the last sbc_test_alloc_fail. */
static long	tried;

/* Whether the next allocation may go ahead (the test hook's say). */
static bool
alloc_allowed(void)
{
	long	n = tried++;

	return (fail_at < 0 || n < fail_at || (n > fail_at && !fail_rest));
}

/*
 * Make the n-th allocation from now (0 the next one) fail, and every one
 * after it too when rest; n < 0 lets all succeed.  Restarts the count.
 */
void
sbc_test_alloc_fail(long n, bool rest)
{
	fail_at = n < 0 ? -1 : n;
	fail_rest = rest;
	tried = 0;
}

/* How many allocations were tried since sbc_test_alloc_fail. */
long
sbc_test_alloc_count(void)
{
	return (tried);
}

/* malloc, NULL when out of memory (size 0 still gives a pointer). */
void *
sbc_malloc(size_t size)
{
	if (!alloc_allowed())
		return (NULL);
	return (malloc(size == 0 ? 1 : size));
}

/* calloc, NULL when out of memory or when nmemb * size overflows. */
void *
sbc_calloc(size_t nmemb, size_t size)
{
	if (!alloc_allowed())
		return (NULL);
	return (calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size));
}

/* Resize ptr to nmemb * size; NULL (ptr untouched) on failure. */
void *
sbc_reallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		return (NULL);
	if (!alloc_allowed())
		return (NULL);
	return (realloc(ptr, nmemb * size == 0 ? 1 : nmemb * size));
}

/* A copy of len bytes of p. */
void *
sbc_memdup(const void *p, size_t len)
{
	void	*q;

	if ((q = sbc_malloc(len)) != NULL && len > 0)
		memcpy(q, p, len);
	return (q);
}

/* A copy of at most len bytes of s, terminated. */
char *
sbc_strndup(const char *s, size_t len)
{
	char	*q;

	len = strnlen(s, len);
	if ((q = sbc_malloc(len + 1)) == NULL)
		return (NULL);
	memcpy(q, s, len);
	q[len] = '\0';
	return (q);
}

/* A copy of s. */
char *
sbc_strdup(const char *s)
{
	return (sbc_strndup(s, strlen(s)));
}

/* vasprintf into a new string; -1 (and *ret NULL) on failure. */
int
sbc_vasprintf(char **ret, const char *fmt, va_list ap)
{
	va_list	ap2;
	int	n;

	*ret = NULL;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (*ret = sbc_malloc((size_t)n + 1)) == NULL)
		return (-1);
	return (vsnprintf(*ret, (size_t)n + 1, fmt, ap));
}

/* asprintf into a new string; -1 (and *ret NULL) on failure. */
int
sbc_asprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = sbc_vasprintf(ret, fmt, ap);
	va_end(ap);
	return (n);
}

/* Record that memory ran out; returns SBC_ERR_NOMEM. */
int
sbc_error_nomem(struct sbc_error *err)
{
	return (sbc_error_set(err, SBC_ERR_NOMEM, "out of memory"));
}

/*
 * Encode msg into a new buffer: 0, SBC_ERR_NOMEM, or -1 with *why set to
 * nanopb's reason (a static string).
 */
int
sbc_msg_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t **out,
    size_t *outlen, const char **why)
{
	pb_ostream_t	 os;
	size_t		 size;
	uint8_t		*buf;

	*out = NULL;
	*outlen = 0;
	if (!pb_get_encoded_size(&size, fields, msg)) {
		*why = "cannot size message";
		return (-1);
	}
	if ((buf = sbc_malloc(size)) == NULL)
		return (SBC_ERR_NOMEM);
	os = pb_ostream_from_buffer(buf, size);
	if (!pb_encode(&os, fields, msg)) {
		*why = PB_GET_ERROR(&os);
		free(buf);
		return (-1);
	}
	*out = buf;
	*outlen = os.bytes_written;
	return (0);
}

/*
 * Decode len bytes of buf into msg, as msg_decode does but with nanopb's
 * reason in *why (a static string, no allocation).  On failure what
 * nanopb allocated is released.
 */
bool
sbc_msg_decode(const pb_msgdesc_t *fields, void *msg, const void *buf,
    size_t len, const char **why)
{
	pb_istream_t	is;

	is = pb_istream_from_buffer(buf, len);
	if (pb_decode_ex(&is, fields, msg, 0))
		return (true);
	if (why != NULL)
		*why = PB_GET_ERROR(&is);
	pb_release(fields, msg);
	return (false);
}
