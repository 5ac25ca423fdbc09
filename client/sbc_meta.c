/*
 * sbc_meta.c: sandbox metadata and the other results the client hands
 * out: conversion from and to the generated messages, copies, frees, and
 * the small parsers sandboxctl uses (labels, extensions, timestamps).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbc_int.h"

/* Free a string the library allocated behind a const pointer. */
static void
free_const(const void *p)
{
	free((void *)p);
}

/* A copy of s, NULL staying NULL; false when memory ran out. */
static bool
dup_or_null(const char **dst, const char *s)
{
	*dst = s != NULL ? sbc_strdup(s) : NULL;
	return (s == NULL || *dst != NULL);
}

/*
 * Copy s into a fixed-size message field; what names it in the error
 * when it does not fit (the daemon would refuse it anyway).
 */
int
sbc_copy_str(char *dst, size_t size, const char *s, const char *what,
    struct sbc_error *err)
{
	if (s == NULL)
		s = "";
	if (strlen(s) >= size)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "%s too long (%zu bytes, the client's limit is %zu)", what,
		    strlen(s), size - 1));
	memcpy(dst, s, strlen(s) + 1);
	return (0);
}

/* Copy n strings into a fixed repeated field of max entries of size. */
int
sbc_copy_strs(char *dst, size_t size, size_t max, pb_size_t *count,
    const char *const *src, size_t n, const char *what,
    struct sbc_error *err)
{
	size_t	i;
	int	code;

	if (n > max)
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many %s (%zu, the client's limit is %zu)", what, n,
		    max));
	for (i = 0; i < n; i++) {
		code = sbc_copy_str(dst + i * size, size, src[i], what, err);
		if (code != 0)
			return (code);
	}
	*count = (pb_size_t)n;
	return (0);
}

/* Point a message Any at the caller's Any (absent when type_url NULL). */
void
sbc_any_to_pb(const struct sbc_any *a, bool *has, gp_Any *pb)
{
	*has = a->type_url != NULL;
	if (!*has)
		return;
	pb->type_url = (char *)a->type_url;
	pb->value.data = a->value;
	pb->value.len = a->len;
}

/* Fill a with copies of a type URL and a value; 0 or SBC_ERR_NOMEM. */
static int
any_dup(struct sbc_any *a, const char *type_url, const void *value,
    size_t len)
{
	memset(a, 0, sizeof *a);
	a->type_url = sbc_strdup(type_url);
	if (len > 0) {
		a->value = sbc_memdup(value, len);
		a->len = len;
	}
	if (a->type_url == NULL || (len > 0 && a->value == NULL)) {
		sbc_any_free(a);
		return (SBC_ERR_NOMEM);
	}
	return (0);
}

/* Copy a decoded Any; 0 or SBC_ERR_NOMEM. */
int
sbc_any_from_pb(struct sbc_any *a, bool has, const gp_Any *pb)
{
	memset(a, 0, sizeof *a);
	if (!has)
		return (0);
	return (any_dup(a, pb->type_url != NULL ? pb->type_url : "",
	    pb->value.data, pb->value.len));
}

/* Free an Any the library filled. */
void
sbc_any_free(struct sbc_any *a)
{
	free_const(a->type_url);
	free_const(a->value);
	memset(a, 0, sizeof *a);
}

/* A decoded Timestamp as a timespec; zero when absent. */
void
sbc_ts_from_pb(struct timespec *ts, bool has, const gp_Timestamp *pb)
{
	ts->tv_sec = has ? (time_t)pb->seconds : 0;
	ts->tv_nsec = has ? pb->nanos : 0;
}

/* A timespec as a message Timestamp; a zero time is left absent. */
void
sbc_ts_to_pb(const struct timespec *ts, bool *has, gp_Timestamp *pb)
{
	*has = ts->tv_sec != 0 || ts->tv_nsec != 0;
	pb->seconds = ts->tv_sec;
	pb->nanos = (int32_t)ts->tv_nsec;
}

/* Point the labels and extensions of a message at the caller's. */
static int
meta_maps_to_pb(const struct sbc_meta *m, ct_Sandbox *pb,
    struct sbc_error *err)
{
	size_t	i;

	if (m->nlabels > sizeof pb->labels / sizeof pb->labels[0])
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many labels (%zu)", m->nlabels));
	if (m->nextensions > sizeof pb->extensions / sizeof pb->extensions[0])
		return (sbc_error_set(err, STATUS_INVALID_ARGUMENT,
		    "too many extensions (%zu)", m->nextensions));
	for (i = 0; i < m->nlabels; i++) {
		pb->labels[i].key = (char *)m->labels[i].key;
		pb->labels[i].value = (char *)m->labels[i].value;
	}
	pb->labels_count = (pb_size_t)m->nlabels;
	for (i = 0; i < m->nextensions; i++) {
		pb->extensions[i].key = (char *)m->extensions[i].name;
		sbc_any_to_pb(&m->extensions[i].value,
		    &pb->extensions[i].has_value, &pb->extensions[i].value);
	}
	pb->extensions_count = (pb_size_t)m->nextensions;
	return (0);
}

/* Fill a Sandbox message from metadata, borrowing its memory. */
int
sbc_meta_to_pb(const struct sbc_meta *m, ct_Sandbox *pb,
    struct sbc_error *err)
{
	int	code;

	memset(pb, 0, sizeof *pb);
	if ((code = sbc_copy_str(pb->sandbox_id, sizeof pb->sandbox_id, m->id,
	    "sandbox id", err)) != 0 ||
	    (code = sbc_copy_str(pb->sandboxer, sizeof pb->sandboxer,
	    m->sandboxer, "sandboxer", err)) != 0 ||
	    (code = sbc_copy_str(pb->runtime.name, sizeof pb->runtime.name,
	    m->runtime, "runtime name", err)) != 0)
		return (code);
	sbc_any_to_pb(&m->runtime_options, &pb->runtime.has_options,
	    &pb->runtime.options);
	pb->has_runtime = pb->runtime.name[0] != '\0' ||
	    pb->runtime.has_options;
	sbc_any_to_pb(&m->spec, &pb->has_spec, &pb->spec);
	sbc_ts_to_pb(&m->created_at, &pb->has_created_at, &pb->created_at);
	sbc_ts_to_pb(&m->updated_at, &pb->has_updated_at, &pb->updated_at);
	return (meta_maps_to_pb(m, pb, err));
}

/* An array of n zeroed labels (at least one element); NULL if no memory. */
struct sbc_label *
sbc_labels_new(size_t n)
{
	return (sbc_calloc(n > 0 ? n : 1, sizeof(struct sbc_label)));
}

/*
 * Set a label to copies of key and value (NULL read as ""): 0, or
 * SBC_ERR_NOMEM with whatever was copied left for sbc_labels_free.
 */
int
sbc_label_set(struct sbc_label *l, const char *key, const char *value)
{
	l->key = sbc_strdup(key != NULL ? key : "");
	l->value = sbc_strdup(value != NULL ? value : "");
	return (l->key != NULL && l->value != NULL ? 0 : SBC_ERR_NOMEM);
}

/* Free labels the library allocated. */
void
sbc_labels_free(const struct sbc_label *labels, size_t n)
{
	size_t	i;

	if (labels == NULL)
		return;
	for (i = 0; i < n; i++) {
		free_const(labels[i].key);
		free_const(labels[i].value);
	}
	free_const(labels);
}

/*
 * Copy the labels and extensions of a decoded Sandbox; on SBC_ERR_NOMEM
 * what was copied stays in m for sbc_meta_free.
 */
static int
meta_maps_from_pb(struct sbc_meta *m, const ct_Sandbox *pb)
{
	struct sbc_label	*labels;
	struct sbc_extension	*exts;
	size_t			 i;
	int			 code = 0;

	if ((labels = sbc_labels_new(pb->labels_count)) == NULL)
		return (SBC_ERR_NOMEM);
	m->labels = labels;
	m->nlabels = pb->labels_count;
	for (i = 0; code == 0 && i < pb->labels_count; i++)
		code = sbc_label_set(&labels[i], pb->labels[i].key,
		    pb->labels[i].value);
	if (code != 0 ||
	    (exts = sbc_calloc(pb->extensions_count + 1, sizeof *exts)) == NULL)
		return (SBC_ERR_NOMEM);
	m->extensions = exts;
	m->nextensions = pb->extensions_count;
	for (i = 0; code == 0 && i < pb->extensions_count; i++) {
		exts[i].name = sbc_strdup(pb->extensions[i].key != NULL ?
		    pb->extensions[i].key : "");
		code = sbc_any_from_pb(&exts[i].value,
		    pb->extensions[i].has_value, &pb->extensions[i].value);
		if (exts[i].name == NULL)
			code = SBC_ERR_NOMEM;
	}
	return (code);
}

/* Fill metadata with copies of everything in a decoded Sandbox. */
int
sbc_meta_from_pb(struct sbc_meta *m, const ct_Sandbox *pb)
{
	memset(m, 0, sizeof *m);
	sbc_ts_from_pb(&m->created_at, pb->has_created_at, &pb->created_at);
	sbc_ts_from_pb(&m->updated_at, pb->has_updated_at, &pb->updated_at);
	m->id = sbc_strdup(pb->sandbox_id);
	m->runtime = sbc_strdup(pb->has_runtime ? pb->runtime.name : "");
	m->sandboxer = sbc_strdup(pb->sandboxer);
	if (m->id == NULL || m->runtime == NULL || m->sandboxer == NULL ||
	    sbc_any_from_pb(&m->runtime_options, pb->has_runtime &&
	    pb->runtime.has_options, &pb->runtime.options) != 0 ||
	    sbc_any_from_pb(&m->spec, pb->has_spec, &pb->spec) != 0 ||
	    meta_maps_from_pb(m, pb) != 0) {
		sbc_meta_free(m);
		return (SBC_ERR_NOMEM);
	}
	return (0);
}

/* A copy of an Any (for sbc_meta_copy); 0 or SBC_ERR_NOMEM. */
static int
any_copy(struct sbc_any *dst, const struct sbc_any *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->type_url == NULL)
		return (0);
	return (any_dup(dst, src->type_url, src->value, src->len));
}

/* Deep-copy the labels and extensions; what was copied stays in dst. */
static int
meta_maps_copy(struct sbc_meta *dst, const struct sbc_meta *src)
{
	struct sbc_label	*labels;
	struct sbc_extension	*exts;
	size_t			 i;
	int			 code = 0;

	if ((labels = sbc_labels_new(src->nlabels)) == NULL)
		return (SBC_ERR_NOMEM);
	dst->labels = labels;
	dst->nlabels = src->nlabels;
	for (i = 0; code == 0 && i < src->nlabels; i++)
		code = sbc_label_set(&labels[i], src->labels[i].key,
		    src->labels[i].value);
	if (code != 0 ||
	    (exts = sbc_calloc(src->nextensions + 1, sizeof *exts)) == NULL)
		return (SBC_ERR_NOMEM);
	dst->extensions = exts;
	dst->nextensions = src->nextensions;
	for (i = 0; code == 0 && i < src->nextensions; i++) {
		code = any_copy(&exts[i].value, &src->extensions[i].value);
		if (!dup_or_null(&exts[i].name, src->extensions[i].name))
			code = SBC_ERR_NOMEM;
	}
	return (code);
}

/*
 * Deep-copy metadata (from the caller's or the library's) into dst: 0, or
 * SBC_ERR_NOMEM with dst left empty.
 */
int
sbc_meta_copy(struct sbc_meta *dst, const struct sbc_meta *src)
{
	memset(dst, 0, sizeof *dst);
	dst->created_at = src->created_at;
	dst->updated_at = src->updated_at;
	if (!dup_or_null(&dst->id, src->id) ||
	    !dup_or_null(&dst->runtime, src->runtime) ||
	    !dup_or_null(&dst->sandboxer, src->sandboxer) ||
	    any_copy(&dst->runtime_options, &src->runtime_options) != 0 ||
	    any_copy(&dst->spec, &src->spec) != 0 ||
	    meta_maps_copy(dst, src) != 0) {
		sbc_meta_free(dst);
		return (SBC_ERR_NOMEM);
	}
	return (0);
}

/* Free metadata the library filled. */
void
sbc_meta_free(struct sbc_meta *m)
{
	struct sbc_extension	*exts;
	size_t			 i;

	if (m == NULL)
		return;
	free_const(m->id);
	free_const(m->runtime);
	free_const(m->sandboxer);
	sbc_any_free(&m->runtime_options);
	sbc_any_free(&m->spec);
	sbc_labels_free(m->labels, m->nlabels);
	exts = (struct sbc_extension *)m->extensions;
	for (i = 0; exts != NULL && i < m->nextensions; i++) {
		free_const(exts[i].name);
		sbc_any_free(&exts[i].value);
	}
	free(exts);
	memset(m, 0, sizeof *m);
}

/* Free an array of metadata from sbc_store_list. */
void
sbc_meta_list_free(struct sbc_meta *list, size_t n)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		sbc_meta_free(&list[i]);
	free(list);
}

/* The value of a label, NULL if the metadata has no such label. */
const char *
sbc_meta_label(const struct sbc_meta *m, const char *key)
{
	size_t	i;

	for (i = 0; i < m->nlabels; i++) {
		if (strcmp(m->labels[i].key, key) == 0)
			return (m->labels[i].value);
	}
	return (NULL);
}

/* Free what Start answered. */
void
sbc_start_info_free(struct sbc_start_info *si)
{
	if (si == NULL)
		return;
	free_const(si->address);
	sbc_labels_free(si->labels, si->nlabels);
	sbc_any_free(&si->spec);
	memset(si, 0, sizeof *si);
}

/* Free what Status answered. */
void
sbc_status_free(struct sbc_status *st)
{
	if (st == NULL)
		return;
	free_const(st->id);
	free_const(st->state);
	free_const(st->address);
	sbc_labels_free(st->info, st->ninfo);
	sbc_any_free(&st->extra);
	memset(st, 0, sizeof *st);
}

/* Free what Metrics answered. */
void
sbc_metrics_free(struct sbc_metrics *mt)
{
	if (mt == NULL)
		return;
	free_const(mt->id);
	sbc_any_free(&mt->data);
	memset(mt, 0, sizeof *mt);
}

/*
 * Parsed strings all allocated (0), or none kept: each is freed and set
 * to NULL, and *cause (if not NULL) says memory ran out (-1).
 */
static int
parsed_or_nomem(char **strs[], size_t n, char **cause)
{
	size_t	i;
	bool	ok = true;

	for (i = 0; i < n; i++)
		ok = ok && *strs[i] != NULL;
	if (ok)
		return (0);
	for (i = 0; i < n; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	if (cause != NULL)
		sbc_asprintf(cause, "out of memory");
	return (-1);
}

/*
 * Split "key=value" (or "key", value "") into allocated strings.  An
 * empty key is refused (*cause, if not NULL, says so); the daemon checks
 * the rest of the label rules.
 */
int
sbc_label_parse(const char *arg, char **key, char **value, char **cause)
{
	char		**strs[] = { key, value };
	const char	 *eq;

	*key = *value = NULL;
	eq = strchr(arg, '=');
	if (eq == arg || *arg == '\0') {
		if (cause != NULL)
			sbc_asprintf(cause, "label \"%s\": empty key", arg);
		return (-1);
	}
	if (eq == NULL) {
		*key = sbc_strdup(arg);
		*value = sbc_strdup("");
	} else {
		*key = sbc_strndup(arg, (size_t)(eq - arg));
		*value = sbc_strdup(eq + 1);
	}
	return (parsed_or_nomem(strs, 2, cause));
}

/*
 * Split "NAME=TYPEURL:FILE" (the type URL ends at the first ':' after the
 * '='; the file may contain ':') into allocated strings.
 */
int
sbc_extension_parse(const char *arg, char **name, char **type_url,
    char **file, char **cause)
{
	char		**strs[] = { name, type_url, file };
	const char	 *eq, *colon;

	*name = *type_url = *file = NULL;
	eq = strchr(arg, '=');
	colon = eq != NULL ? strchr(eq + 1, ':') : NULL;
	if (eq == NULL || eq == arg || colon == NULL || colon == eq + 1 ||
	    colon[1] == '\0') {
		if (cause != NULL)
			sbc_asprintf(cause, "extension \"%s\": want "
			    "NAME=TYPEURL:FILE", arg);
		return (-1);
	}
	*name = sbc_strndup(arg, (size_t)(eq - arg));
	*type_url = sbc_strndup(eq + 1, (size_t)(colon - eq - 1));
	*file = sbc_strdup(colon + 1);
	return (parsed_or_nomem(strs, 3, cause));
}

/*
 * Format a time as RFC 3339 in UTC with Go's trimmed fraction
 * ("2024-05-01T10:00:00.5Z"); the zero time gives "".
 */
void
sbc_ts_format(const struct timespec *ts, char *buf, size_t size)
{
	struct tm	tm;
	char		date[32], frac[16];
	size_t		n;

	if (ts->tv_sec == 0 && ts->tv_nsec == 0) {
		snprintf(buf, size, "%s", "");
		return;
	}
	gmtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	frac[0] = '\0';
	if (ts->tv_nsec > 0 && ts->tv_nsec < 1000000000) {
		snprintf(frac, sizeof frac, ".%09ld", (long)ts->tv_nsec);
		n = strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
	}
	snprintf(buf, size, "%s%sZ", date, frac);
}
