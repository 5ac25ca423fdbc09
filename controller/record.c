/*
 * record.c: sandbox metadata records (see controller.h).
 */
#include <stdlib.h>
#include <string.h>

#include <pb_encode.h>

#include "controller.h"
#include "log.h"
#include "pbutil.h"
#include "protocol.h"
#include "storage.h"
#include "validate.h"
#include "xmalloc.h"

#define MAX_LABELS	(sizeof(((ct_Sandbox *)0)->labels) / \
			    sizeof(((ct_Sandbox *)0)->labels[0]))
#define MAX_EXTENSIONS	(sizeof(((ct_Sandbox *)0)->extensions) / \
			    sizeof(((ct_Sandbox *)0)->extensions[0]))

static const char *
str_or_empty(const char *s)
{
	return (s != NULL ? s : "");
}

/* Check the id, every label and every extension name. */
int
record_validate(const ct_Sandbox *sb, char **cause)
{
	pb_size_t	i;

	if (validate_identifier("sandbox id", sb->sandbox_id, cause) == -1)
		return (-1);
	for (i = 0; i < sb->labels_count; i++) {
		if (validate_label(sb->labels[i].key, sb->labels[i].value,
		    cause) == -1)
			return (-1);
	}
	for (i = 0; i < sb->extensions_count; i++) {
		if (str_or_empty(sb->extensions[i].key)[0] == '\0') {
			xasprintf(cause, "extension name must not be empty");
			return (-1);
		}
	}
	return (0);
}

static int
label_cmp(const void *a, const void *b)
{
	const ct_Sandbox_LabelsEntry *x = a, *y = b;

	return (strcmp(str_or_empty(x->key), str_or_empty(y->key)));
}

static int
extension_cmp(const void *a, const void *b)
{
	const ct_Sandbox_ExtensionsEntry *x = a, *y = b;

	return (strcmp(str_or_empty(x->key), str_or_empty(y->key)));
}

/*
 * Keep one label per key, the last one given (protobuf's rule for maps),
 * then sort by key.  Entries are taken out one by one and put back at the
 * front (n <= i), so no entry is lost or freed twice.
 */
static void
normalize_labels(ct_Sandbox *sb)
{
	ct_Sandbox_LabelsEntry	e;
	pb_size_t		i, j, n = 0;

	for (i = 0; i < sb->labels_count; i++) {
		e = sb->labels[i];
		memset(&sb->labels[i], 0, sizeof(sb->labels[i]));
		for (j = 0; j < n; j++) {
			if (strcmp(str_or_empty(sb->labels[j].key),
			    str_or_empty(e.key)) == 0)
				break;
		}
		if (j < n) {
			free(sb->labels[j].value);
			sb->labels[j].value = e.value;
			free(e.key);
		} else
			sb->labels[n++] = e;
	}
	sb->labels_count = n;
	qsort(sb->labels, n, sizeof(sb->labels[0]), label_cmp);
}

/* The same for extensions. */
static void
normalize_extensions(ct_Sandbox *sb)
{
	ct_Sandbox_ExtensionsEntry	e;
	pb_size_t			i, j, n = 0;

	for (i = 0; i < sb->extensions_count; i++) {
		e = sb->extensions[i];
		memset(&sb->extensions[i], 0, sizeof(sb->extensions[i]));
		for (j = 0; j < n; j++) {
			if (strcmp(str_or_empty(sb->extensions[j].key),
			    str_or_empty(e.key)) == 0)
				break;
		}
		if (j < n) {
			free(sb->extensions[j].value.type_url);
			sb->extensions[j].has_value = e.has_value;
			sb->extensions[j].value = e.value;
			free(e.key);
		} else
			sb->extensions[n++] = e;
	}
	sb->extensions_count = n;
	qsort(sb->extensions, n, sizeof(sb->extensions[0]), extension_cmp);
}

/*
 * Put a decoded request's sandbox in canonical form: maps sorted by key,
 * one entry per key.  Only for messages nanopb allocated (entries dropped
 * here are freed).
 */
void
record_normalize(ct_Sandbox *sb)
{
	normalize_labels(sb);
	normalize_extensions(sb);
}

/* Encode a sandbox as stored; NULL if it cannot be encoded. */
uint8_t *
record_encode(const ct_Sandbox *sb, size_t *len)
{
	uint8_t	*buf;

	if (!msg_encode(ct_Sandbox_fields, sb, &buf, len, NULL))
		return (NULL);
	return (buf);
}

/* Decode stored bytes; the record takes buf over (even on failure). */
int
record_decode(void *buf, size_t len, struct record *r, char **cause)
{
	r->sb = xcalloc(1, sizeof(*r->sb));
	r->buf = buf;
	r->len = len;
	if (!msg_decode(ct_Sandbox_fields, r->sb, buf, len, cause)) {
		free(r->sb);
		free(buf);
		memset(r, 0, sizeof(*r));
		return (-1);
	}
	return (0);
}

/* Read a stored record: 1 found, 0 absent, -1 error (with cause). */
int
record_load(const char *ns, const char *id, struct record *r, char **cause)
{
	void	*buf;
	size_t	 len;
	int	 found;

	memset(r, 0, sizeof(*r));
	found = store_get(STORE_SANDBOX, ns, id, &buf, &len, cause);
	if (found != 1)
		return (found);
	if (record_decode(buf, len, r, cause) == -1)
		return (-1);
	return (1);
}

void
record_free(struct record *r)
{
	if (r->sb != NULL) {
		msg_release(ct_Sandbox_fields, r->sb);
		free(r->sb);
	}
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* The value of label key, or NULL. */
const char *
record_label(const ct_Sandbox *sb, const char *key)
{
	pb_size_t	i;

	for (i = sb->labels_count; i > 0; i--) {
		if (strcmp(str_or_empty(sb->labels[i - 1].key), key) == 0)
			return (str_or_empty(sb->labels[i - 1].value));
	}
	return (NULL);
}

/* The extension called name, or NULL. */
const gp_Any *
record_extension(const ct_Sandbox *sb, const char *name)
{
	pb_size_t	i;

	for (i = sb->extensions_count; i > 0; i--) {
		if (strcmp(str_or_empty(sb->extensions[i - 1].key), name) == 0)
			return (&sb->extensions[i - 1].value);
	}
	return (NULL);
}

/* Set (value non-empty) or delete (NULL or "") one label of out. */
static int
merge_label(ct_Sandbox *out, const char *key, const char *value, char **cause)
{
	pb_size_t	i;

	for (i = 0; i < out->labels_count; i++) {
		if (strcmp(str_or_empty(out->labels[i].key), key) == 0)
			break;
	}
	if (value == NULL || *value == '\0') {
		if (i < out->labels_count) {
			memmove(&out->labels[i], &out->labels[i + 1],
			    (out->labels_count - i - 1) * sizeof(out->labels[0]));
			out->labels_count--;
		}
		return (0);
	}
	if (i == out->labels_count) {
		if (out->labels_count == MAX_LABELS) {
			xasprintf(cause, "too many labels (max %zu)", MAX_LABELS);
			return (-1);
		}
		out->labels[i].key = (char *)key;
		out->labels_count++;
	}
	out->labels[i].value = (char *)value;
	return (0);
}

/* Set (present) or delete (NULL) one extension of out. */
static int
merge_extension(ct_Sandbox *out, const char *name, const gp_Any *value,
    char **cause)
{
	pb_size_t	i;

	for (i = 0; i < out->extensions_count; i++) {
		if (strcmp(str_or_empty(out->extensions[i].key), name) == 0)
			break;
	}
	if (value == NULL) {
		if (i < out->extensions_count) {
			memmove(&out->extensions[i], &out->extensions[i + 1],
			    (out->extensions_count - i - 1) *
			    sizeof(out->extensions[0]));
			out->extensions_count--;
		}
		return (0);
	}
	if (i == out->extensions_count) {
		if (out->extensions_count == MAX_EXTENSIONS) {
			xasprintf(cause, "too many extensions (max %zu)",
			    MAX_EXTENSIONS);
			return (-1);
		}
		out->extensions[i].key = (char *)name;
		out->extensions_count++;
	}
	out->extensions[i].has_value = true;
	out->extensions[i].value = *value;
	return (0);
}

/* Apply one field path from in to out. */
static int
merge_path(ct_Sandbox *out, const ct_Sandbox *in, const char *path,
    char **cause)
{
	if (strncmp(path, "labels.", 7) == 0 && path[7] != '\0')
		return (merge_label(out, path + 7, record_label(in, path + 7),
		    cause));
	if (strncmp(path, "extensions.", 11) == 0 && path[11] != '\0')
		return (merge_extension(out, path + 11,
		    record_extension(in, path + 11), cause));
	if (strcmp(path, "labels") == 0) {
		out->labels_count = in->labels_count;
		memcpy(out->labels, in->labels,
		    in->labels_count * sizeof(in->labels[0]));
	} else if (strcmp(path, "extensions") == 0) {
		out->extensions_count = in->extensions_count;
		memcpy(out->extensions, in->extensions,
		    in->extensions_count * sizeof(in->extensions[0]));
	} else if (strcmp(path, "runtime") == 0) {
		out->has_runtime = in->has_runtime;
		out->runtime = in->runtime;
	} else if (strcmp(path, "spec") == 0) {
		out->has_spec = in->has_spec;
		out->spec = in->spec;
	} else {
		xasprintf(cause, "field path \"%s\" cannot be updated (allowed: "
		    "labels, labels.<key>, extensions, extensions.<name>, "
		    "runtime, spec)", path);
		return (-1);
	}
	return (0);
}

/*
 * out = stored with the field paths of in applied (containerd's Update
 * rules; no paths means labels, extensions, spec and runtime, and then the
 * runtime name may not change).  out borrows every pointer and view of
 * stored and in: encode it before releasing them, and never release out.
 */
int
record_merge(ct_Sandbox *out, const ct_Sandbox *stored, const ct_Sandbox *in,
    const record_path *paths, size_t npaths, char **cause)
{
	static const char *const all[] = {
		"labels", "extensions", "spec", "runtime"
	};
	size_t	i;

	*out = *stored;
	if (npaths == 0) {
		if (strcmp(in->runtime.name, stored->runtime.name) != 0) {
			xasprintf(cause, "runtime name is immutable: \"%s\" "
			    "cannot become \"%s\"", stored->runtime.name,
			    in->runtime.name);
			return (-1);
		}
		for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			if (merge_path(out, in, all[i], cause) == -1)
				return (-1);
		}
	}
	for (i = 0; i < npaths; i++) {
		if (merge_path(out, in, paths[i], cause) == -1)
			return (-1);
	}
	return (record_validate(out, cause));
}

/* A new buffer holding data as length-delimited field number `field`. */
uint8_t *
record_wrap(const void *data, size_t len, uint32_t field, size_t *outlen)
{
	pb_ostream_t	 sizing = PB_OSTREAM_SIZING, os;
	uint8_t		*buf;

	if (!pb_encode_view_field(&sizing, field, data, len))
		fatalx("%s: cannot size field", __func__);
	buf = xmalloc(sizing.bytes_written);
	os = pb_ostream_from_buffer(buf, sizing.bytes_written);
	if (!pb_encode_view_field(&os, field, data, len))
		fatalx("%s: %s", __func__, PB_GET_ERROR(&os));
	*outlen = os.bytes_written;
	return (buf);
}
