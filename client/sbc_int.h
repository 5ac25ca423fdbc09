/*
 * sbc_int.h: the client library's private glue: its allocator (which
 * returns NULL rather than exit, see sbc_alloc.c) and the conversions
 * between its C structures (sbc.h) and the generated nanopb messages.
 * Conversions "to_pb" borrow the caller's memory (never msg_release such
 * a message); conversions "from_pb" copy, so nothing points into a reply
 * buffer afterwards, and return 0 or SBC_ERR_NOMEM (leaving nothing to
 * free).
 */
#ifndef SANDBOXD_SBC_INT_H
#define SANDBOXD_SBC_INT_H

#include <stdarg.h>

#include "containerd/types/sandbox.pb.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "sbc.h"
#include "sbc_test.h"

/* sbc_alloc.c */
void	*sbc_malloc(size_t);
void	*sbc_calloc(size_t, size_t);
void	*sbc_reallocarray(void *, size_t, size_t);
void	*sbc_memdup(const void *, size_t);
char	*sbc_strndup(const char *, size_t);
char	*sbc_strdup(const char *);
int	 sbc_vasprintf(char **, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));
int	 sbc_asprintf(char **, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
int	 sbc_error_nomem(struct sbc_error *);
int	 sbc_msg_encode(const pb_msgdesc_t *, const void *, uint8_t **,
	    size_t *, const char **);
bool	 sbc_msg_decode(const pb_msgdesc_t *, void *, const void *, size_t,
	    const char **);

/* sbc_meta.c */
int	sbc_copy_str(char *, size_t, const char *, const char *,
	    struct sbc_error *);
int	sbc_copy_strs(char *, size_t, size_t, pb_size_t *,
	    const char *const *, size_t, const char *, struct sbc_error *);
void	sbc_any_to_pb(const struct sbc_any *, bool *, gp_Any *);
int	sbc_any_from_pb(struct sbc_any *, bool, const gp_Any *);
void	sbc_any_free(struct sbc_any *);
void	sbc_ts_from_pb(struct timespec *, bool, const gp_Timestamp *);
void	sbc_ts_to_pb(const struct timespec *, bool *, gp_Timestamp *);
struct sbc_label *sbc_labels_new(size_t);
int	sbc_label_set(struct sbc_label *, const char *, const char *);
void	sbc_labels_free(const struct sbc_label *, size_t);

/* sbc_instance.c */
int	sbc_call_id(struct sbc *, const char *, const char *, const char *,
	    const pb_msgdesc_t *, void *, struct sbc_reply *,
	    struct sbc_error *);
int	sbc_inst_platform(struct sbc *, const char *, const char *,
	    const char *, struct sbc_platform *, struct sbc_error *);
int	sbc_inst_stop(struct sbc *, const char *, const char *, const char *,
	    uint32_t, struct sbc_error *);
int	sbc_inst_wait(struct sbc *, const char *, const char *, const char *,
	    uint32_t *, struct timespec *, struct sbc_error *);
int	sbc_inst_status(struct sbc *, const char *, const char *,
	    const char *, bool, struct sbc_status *, struct sbc_error *);
int	sbc_inst_metrics(struct sbc *, const char *, const char *,
	    const char *, struct sbc_metrics *, struct sbc_error *);

#endif /* SANDBOXD_SBC_INT_H */
