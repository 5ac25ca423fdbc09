/*
 * pbutil.h: the project's only entry points to nanopb's codec.
 *
 * msg_decode/msg_encode wrap pb_decode/pb_encode so that every failure is
 * described in one place and every decode failure releases what nanopb
 * allocated.  Decoded messages may hold pb_views into the input buffer.
 */
#ifndef SANDBOXD_PBUTIL_H
#define SANDBOXD_PBUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <pb.h>

#include "pbview.h"
#include "google/protobuf/timestamp.pb.h"

/* pbutil.c */
bool	msg_decode(const pb_msgdesc_t *, void *, const void *, size_t,
	    char **);
bool	msg_decode_zeroed(const pb_msgdesc_t *, void *, const void *,
	    size_t, char **);
bool	msg_encode(const pb_msgdesc_t *, const void *, uint8_t **, size_t *,
	    char **);
void	msg_release(const pb_msgdesc_t *, void *);
struct pb_view pbv_str(const char *);
bool	pbv_eq_str(struct pb_view, const char *);
void	ts_now(gp_Timestamp *);
void	ts_from_timespec(gp_Timestamp *, const struct timespec *);
bool	pb_encode_view_field(pb_ostream_t *, uint32_t, const void *, size_t);

#endif /* SANDBOXD_PBUTIL_H */
