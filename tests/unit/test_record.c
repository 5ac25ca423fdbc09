/*
 * test_record.c: identifier and label rules, record normalisation, field
 * path updates, and the codec's limits on what a peer may send.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pb_encode.h>

#include "pbutil.h"
#include "controller.h"
#include "validate.h"
#include "containerd/services/sandbox/v1/sandbox.pb.h"

/* Inline strings: Criterion may run a test in a fresh process image. */
struct id_case {
	char	id[96];
	bool	valid;
	char	why[16];	/* a word the error must contain */
};

ParameterizedTestParameters(validate, identifiers)
{
	static struct id_case cases[] = {
		{ "a", true, "" },
		{ "web-1", true, "" },
		{ "a.b_c-d", true, "" },
		{ "A0.9z", true, "" },
		{ "", false, "empty" },
		{ "-a", false, "match" },
		{ "a-", false, "match" },
		{ "a..b", false, "match" },
		{ "a b", false, "match" },
		{ "a/b", false, "match" },
		{ "ü", false, "match" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    true, "" },				/* 76 */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    false, "longer" },			/* 77 */
		{ "a b-toolong-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    false, "longer" },		/* length is checked before the pattern */
	};

	return (cr_make_param_array(struct id_case, cases,
	    sizeof(cases) / sizeof(cases[0])));
}

ParameterizedTest(struct id_case *c, validate, identifiers)
{
	char	*cause = NULL;
	int	 rc = validate_identifier("sandbox id", c->id, &cause);

	if (c->valid) {
		cr_assert_eq(rc, 0, "\"%s\" should be valid: %s", c->id, cause);
		cr_assert_null(cause);
		return;
	}
	cr_assert_eq(rc, -1, "\"%s\" should be invalid", c->id);
	cr_assert_not_null(strstr(cause, c->why), "\"%s\": %s", c->id, cause);
	cr_assert_not_null(strstr(cause, "sandbox id"), "%s", cause);
	free(cause);
}

Test(validate, labels)
{
	char	*cause = NULL, big[4097];

	cr_assert_eq(validate_label("k", "v", &cause), 0);
	cr_assert_eq(validate_label("k", "", &cause), 0);
	cr_assert_eq(validate_label("", "v", &cause), -1);
	cr_assert_not_null(strstr(cause, "empty"));
	free(cause);
	memset(big, 'x', sizeof(big) - 1);
	big[4095] = '\0';			/* 4095 + "k" = 4096: allowed */
	cr_assert_eq(validate_label("k", big, &cause), 0);
	big[4095] = 'x';
	big[4096] = '\0';			/* 4096 + "k" = 4097 */
	cr_assert_eq(validate_label("k", big, &cause), -1);
	cr_assert_not_null(strstr(cause, "4097"), "%s", cause);
	free(cause);
}

/* A heap sandbox with labels given as k, v, k, v, ..., NULL (strdup'd). */
static ct_Sandbox *
make_sandbox(const char *id, ...)
{
	ct_Sandbox	*sb = calloc(1, sizeof(*sb));
	va_list		 ap;
	const char	*k;

	strcpy(sb->sandbox_id, id);
	va_start(ap, id);
	while ((k = va_arg(ap, const char *)) != NULL) {
		sb->labels[sb->labels_count].key = strdup(k);
		sb->labels[sb->labels_count].value =
		    strdup(va_arg(ap, const char *));
		sb->labels_count++;
	}
	va_end(ap);
	return (sb);
}

static void
free_sandbox(ct_Sandbox *sb)
{
	msg_release(ct_Sandbox_fields, sb);
	free(sb);
}

Test(record, normalize_keeps_last_duplicate_and_sorts)
{
	ct_Sandbox	*sb = make_sandbox("a", "z", "1", "b", "2", "z", "3",
	    "a", "4", NULL);

	record_normalize(sb);
	cr_assert_eq(sb->labels_count, 3);
	cr_assert_str_eq(sb->labels[0].key, "a");
	cr_assert_str_eq(sb->labels[1].key, "b");
	cr_assert_str_eq(sb->labels[2].key, "z");
	cr_assert_str_eq(sb->labels[2].value, "3");
	free_sandbox(sb);
}

Test(record, encode_decode_round_trip)
{
	ct_Sandbox	*sb = make_sandbox("rt", "k", "v", NULL);
	struct record	 r;
	uint8_t		*buf;
	size_t		 len;
	char		*cause = NULL;
	static char	 big[200000];

	memset(big, 'j', sizeof(big));
	sb->has_spec = true;
	sb->spec.type_url = strdup("t/u");
	sb->spec.value.data = (const pb_byte_t *)big;
	sb->spec.value.len = sizeof(big);	/* beyond nanopb's 64 KiB bytes */
	buf = record_encode(sb, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(record_decode(buf, len, &r, &cause), 0, "%s", cause);
	cr_assert_str_eq(r.sb->sandbox_id, "rt");
	cr_assert_eq(r.sb->spec.value.len, sizeof(big));
	cr_assert_eq(memcmp(r.sb->spec.value.data, big, sizeof(big)), 0);
	cr_assert_str_eq(record_label(r.sb, "k"), "v");
	cr_assert_null(record_label(r.sb, "missing"));
	record_free(&r);
	free_sandbox(sb);
}

/* Merge in into stored with the given paths; returns the merged copy. */
static int
merge(ct_Sandbox *out, ct_Sandbox *stored, ct_Sandbox *in,
    const char *const *paths, size_t n, char **cause)
{
	record_path	p[8];
	size_t		i;

	for (i = 0; i < n; i++)
		snprintf(p[i], sizeof(p[i]), "%s", paths[i]);
	return (record_merge(out, stored, in, p, n, cause));
}

Test(record, update_label_paths)
{
	ct_Sandbox	*stored = make_sandbox("u", "keep", "1", "gone", "2",
	    "chg", "3", NULL);
	ct_Sandbox	*in = make_sandbox("u", "chg", "33", "new", "4",
	    "ignored", "5", NULL);
	ct_Sandbox	*out = calloc(1, sizeof(*out));
	const char	*paths[] = { "labels.chg", "labels.new", "labels.gone" };
	char		*cause = NULL;

	cr_assert_eq(merge(out, stored, in, paths, 3, &cause), 0, "%s", cause);
	cr_assert_str_eq(record_label(out, "keep"), "1");
	cr_assert_str_eq(record_label(out, "chg"), "33");
	cr_assert_str_eq(record_label(out, "new"), "4");
	cr_assert_null(record_label(out, "gone"), "absent in the update: deleted");
	cr_assert_null(record_label(out, "ignored"), "not named by a path");
	free(out);
	free_sandbox(stored);
	free_sandbox(in);
}

Test(record, update_whole_labels_spec_runtime)
{
	ct_Sandbox	*stored = make_sandbox("u", "a", "1", NULL);
	ct_Sandbox	*in = make_sandbox("u", "b", "2", NULL);
	ct_Sandbox	*out = calloc(1, sizeof(*out));
	const char	*paths[] = { "labels", "runtime" };
	char		*cause = NULL;

	strcpy(stored->runtime.name, "old");
	stored->has_runtime = true;
	strcpy(in->runtime.name, "new");
	in->has_runtime = true;
	cr_assert_eq(merge(out, stored, in, paths, 2, &cause), 0, "%s", cause);
	cr_assert_null(record_label(out, "a"));
	cr_assert_str_eq(record_label(out, "b"), "2");
	cr_assert_str_eq(out->runtime.name, "new", "runtime named by a path");
	free(out);
	free_sandbox(stored);
	free_sandbox(in);
}

Test(record, update_without_paths_keeps_runtime_immutable)
{
	ct_Sandbox	*stored = make_sandbox("u", NULL);
	ct_Sandbox	*in = make_sandbox("u", "x", "1", NULL);
	ct_Sandbox	*out = calloc(1, sizeof(*out));
	char		*cause = NULL;

	strcpy(stored->runtime.name, "io.sandboxd.pause.v1");
	strcpy(in->runtime.name, "io.sandboxd.exec.v1");
	cr_assert_eq(merge(out, stored, in, NULL, 0, &cause), -1);
	cr_assert_not_null(strstr(cause, "immutable"), "%s", cause);
	free(cause);
	strcpy(in->runtime.name, "io.sandboxd.pause.v1");
	cr_assert_eq(merge(out, stored, in, NULL, 0, &cause), 0, "%s", cause);
	cr_assert_str_eq(record_label(out, "x"), "1");
	free(out);
	free_sandbox(stored);
	free_sandbox(in);
}

Test(record, update_rejects_unknown_paths)
{
	static const char *const bad[] = { "id", "created_at", "sandboxer",
	    "bogus", "labels.", "extensions." };
	ct_Sandbox	*stored = make_sandbox("u", NULL), *in = make_sandbox("u", NULL);
	ct_Sandbox	*out = calloc(1, sizeof(*out));
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(merge(out, stored, in, &bad[i], 1, &cause), -1,
		    "path %s accepted", bad[i]);
		cr_assert_not_null(strstr(cause, bad[i]), "%s", cause);
		free(cause);
		cause = NULL;
	}
	free(out);
	free_sandbox(stored);
	free_sandbox(in);
}

Test(record, update_validates_result)
{
	ct_Sandbox	*stored = make_sandbox("u", NULL);
	ct_Sandbox	*in = make_sandbox("u", "", "v", NULL);
	ct_Sandbox	*out = calloc(1, sizeof(*out));
	const char	*paths[] = { "labels" };
	char		*cause = NULL;

	cr_assert_eq(merge(out, stored, in, paths, 1, &cause), -1);
	cr_assert_not_null(strstr(cause, "empty"), "%s", cause);
	free(cause);
	free(out);
	free_sandbox(stored);
	free_sandbox(in);
}

/* Encode a StoreCreateRequest with n labels and the given id. */
static uint8_t *
encode_create(const char *id, size_t nlabels, size_t *len)
{
	pb_ostream_t	 s = PB_OSTREAM_SIZING, os;
	uint8_t		*inner, *buf;
	size_t		 ilen = 0, i, cap = 64 + nlabels * 16 + strlen(id);
	char		 key[32];

	/* Hand-built: nanopb's own encoder would refuse to exceed the limits. */
	inner = malloc(cap);
	os = pb_ostream_from_buffer(inner, cap);
	pb_encode_view_field(&os, 1, id, strlen(id));
	for (i = 0; i < nlabels; i++) {
		uint8_t	entry[32];
		pb_ostream_t es = pb_ostream_from_buffer(entry, sizeof(entry));

		snprintf(key, sizeof(key), "k%zu", i);
		pb_encode_view_field(&es, 1, key, strlen(key));
		pb_encode_view_field(&es, 2, "v", 1);
		pb_encode_view_field(&os, 4, entry, es.bytes_written);
	}
	ilen = os.bytes_written;
	pb_encode_view_field(&s, 1, inner, ilen);
	buf = malloc(s.bytes_written);
	os = pb_ostream_from_buffer(buf, s.bytes_written);
	pb_encode_view_field(&os, 1, inner, ilen);
	*len = os.bytes_written;
	free(inner);
	return (buf);
}

Test(codec, limits_on_peer_fields)
{
	cssv_StoreCreateRequest	*req = calloc(1, sizeof(*req));
	uint8_t			*buf;
	size_t			 len;
	char			*cause = NULL, longid[300];

	buf = encode_create("ok", 512, &len);
	cr_assert(msg_decode(cssv_StoreCreateRequest_fields, req, buf, len,
	    &cause), "512 labels must decode: %s", cause);
	cr_assert_eq(req->sandbox.labels_count, 512);
	msg_release(cssv_StoreCreateRequest_fields, req);
	free(buf);

	memset(req, 0, sizeof(*req));
	buf = encode_create("ok", 513, &len);
	cr_assert_not(msg_decode(cssv_StoreCreateRequest_fields, req, buf, len,
	    &cause), "513 labels must be refused");
	cr_assert_not_null(cause);
	free(cause);
	cause = NULL;
	free(buf);

	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	memset(req, 0, sizeof(*req));
	buf = encode_create(longid, 0, &len);
	cr_assert_not(msg_decode(cssv_StoreCreateRequest_fields, req, buf, len,
	    &cause), "a 299-byte id must be refused by the decoder");
	free(cause);
	free(buf);

	/* Garbage: a truncated length-delimited field. */
	memset(req, 0, sizeof(*req));
	cr_assert_not(msg_decode(cssv_StoreCreateRequest_fields, req,
	    "\x0a\x7f\x01", 3, &cause));
	free(cause);
	free(req);
}
