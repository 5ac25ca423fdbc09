/*
 * record.h: sandbox metadata records: validation, normalisation, the
 * stored encoding and field-path updates (spec sections 3 and 4).
 *
 * A record is stored as an encoded containerd.types.Sandbox, so that Get
 * and List answer with the stored bytes as they are.
 */
#ifndef SANDBOXD_RECORD_H
#define SANDBOXD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "containerd/types/sandbox.pb.h"

/* A stored record, decoded; sb's views point into buf. */
struct record {
	ct_Sandbox	*sb;
	void		*buf;
	size_t		 len;
};

/* Room for one field path of an update request (see the .options). */
typedef char record_path[1024];

/* record.c */
int		 record_validate(const ct_Sandbox *, char **);
void		 record_normalize(ct_Sandbox *);
uint8_t		*record_encode(const ct_Sandbox *, size_t *);
int		 record_decode(void *, size_t, struct record *, char **);
int		 record_load(const char *, const char *, struct record *,
		    char **);
void		 record_free(struct record *);
int		 record_merge(ct_Sandbox *, const ct_Sandbox *,
		    const ct_Sandbox *, const record_path *, size_t, char **);
const char	*record_label(const ct_Sandbox *, const char *);
const gp_Any	*record_extension(const ct_Sandbox *, const char *);
uint8_t		*record_wrap(const void *, size_t, uint32_t, size_t *);

#endif /* SANDBOXD_RECORD_H */
