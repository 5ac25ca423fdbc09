/*
 * test_store.c: the Store service against the real daemon, through the
 * client library: every call, every error code of spec sections 3 and 4,
 * namespaces, List filters, Update field paths, persistence across a
 * clean restart and kill -9, group commit under 64 concurrent clients,
 * and an injected commit failure.
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "itest.h"
#include "sbc.h"

#define GC_CLIENTS	64
#define GC_PER_CLIENT	100

TestSuite(store, .init = itest_setup, .fini = itest_teardown, .timeout = 60);

/* Suites that start the daemon themselves. */
TestSuite(store_nostart, .fini = itest_teardown, .timeout = 60);

/* Metadata of id with the exec runtime and labels (n pairs). */
static struct sbc_meta
exec_meta(const char *id, const struct sbc_label *labels, size_t n)
{
	struct sbc_meta	m = itest_meta(id, RUNTIME_EXEC, NULL);

	m.labels = labels;
	m.nlabels = n;
	return (m);
}

/* Create id with labels (n pairs) and the exec runtime. */
static int
mk(struct sbc *c, const char *id, const struct sbc_label *labels, size_t n,
    struct sbc_error *err)
{
	struct sbc_meta	m = exec_meta(id, labels, n);

	return (sbc_store_create(c, &m, NULL, err));
}

/* The ids List returns for the filters, comma-joined ("ERR n" on error). */
static char *
list_ids(struct sbc *c, const char *const *filters, size_t nfilters)
{
	struct sbc_meta		*list;
	struct sbc_error	 err = {0};
	size_t			 n, i, len = 0;
	char			*s;
	int			 code;

	if ((code = sbc_store_list(c, filters, nfilters, &list, &n,
	    &err)) != 0) {
		cr_log_info("list: %s", err.message);
		sbc_error_clear(&err);
		if (asprintf(&s, "ERR %d", code) == -1)
			cr_assert_fail("asprintf");
		return (s);
	}
	for (i = 0; i < n; i++)
		len += strlen(list[i].id) + 1;
	s = calloc(1, len + 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, list[i].id);
	}
	sbc_meta_list_free(list, n);
	return (s);
}

/* Assert that List with one filter returns want. */
static void
expect_list(struct sbc *c, const char *filter, const char *want)
{
	const char	*filters[1] = { filter };
	char		*got;

	got = list_ids(c, filters, filter != NULL ? 1 : 0);
	cr_assert_str_eq(got, want, "filter %s: got [%s], want [%s]",
	    filter != NULL ? filter : "(none)", got, want);
	free(got);
}

/* Whether two timespecs are equal. */
static bool
ts_eq(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec);
}

/* Whether a is later than b. */
static bool
ts_after(const struct timespec *a, const struct timespec *b)
{
	return (a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec));
}

/* --- create and get ------------------------------------------------------- */

Test(store, create_get_roundtrip)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_label	 labels[] = { { "app", "web" }, { "tier", "" } };
	struct sbc_extension	 exts[] = {
		{ "net", { "example.com/Net", "\x01\x00\x02", 3 } },
	};
	const char		 spec[] = "{\"process\":{\"args\":[\"true\"]}}";
	struct sbc_meta		 in = {0}, out, got;
	struct sbc_error	 err = {0};
	time_t			 now = time(NULL);

	in.id = "sb1";
	in.runtime = RUNTIME_EXEC;
	in.runtime_options.type_url = "example.com/Opts";
	in.runtime_options.value = "o";
	in.runtime_options.len = 1;
	in.spec = itest_spec(spec);
	in.labels = labels;
	in.nlabels = 2;
	in.extensions = exts;
	in.nextensions = 1;
	in.sandboxer = "shim";
	in.created_at.tv_sec = 1;	/* the server's clock wins */
	itest_expect(sbc_store_create(c, &in, &out, &err), 0, &err, "create");
	cr_assert_str_eq(out.id, "sb1");
	cr_assert(out.created_at.tv_sec >= now - 5 &&
	    out.created_at.tv_sec <= now + 5, "created_at %ld, now %ld",
	    (long)out.created_at.tv_sec, (long)now);
	cr_assert(ts_eq(&out.created_at, &out.updated_at),
	    "created_at == updated_at on create");

	itest_expect(sbc_store_get(c, "sb1", &got, &err), 0, &err, "get");
	cr_assert_str_eq(got.id, "sb1");
	cr_assert_str_eq(got.runtime, RUNTIME_EXEC);
	cr_assert_str_eq(got.runtime_options.type_url, "example.com/Opts");
	cr_assert_eq(got.runtime_options.len, 1);
	cr_assert_str_eq(got.spec.type_url, OCI_SPEC_TYPE_URL);
	cr_assert_eq(got.spec.len, strlen(spec));
	cr_assert_eq(memcmp(got.spec.value, spec, strlen(spec)), 0);
	cr_assert_eq(got.nlabels, 2);
	cr_assert_str_eq(sbc_meta_label(&got, "app"), "web");
	cr_assert_str_eq(sbc_meta_label(&got, "tier"), "");
	cr_assert_eq(got.nextensions, 1);
	cr_assert_str_eq(got.extensions[0].name, "net");
	cr_assert_str_eq(got.extensions[0].value.type_url, "example.com/Net");
	cr_assert_eq(got.extensions[0].value.len, 3);
	cr_assert_eq(memcmp(got.extensions[0].value.value, "\x01\x00\x02", 3),
	    0);
	cr_assert_str_eq(got.sandboxer, "shim");
	cr_assert(ts_eq(&got.created_at, &out.created_at));
	cr_assert(ts_eq(&got.updated_at, &out.updated_at));
	sbc_meta_free(&out);
	sbc_meta_free(&got);
	sbc_close(c);
}

Test(store, create_minimal_and_large_spec)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_meta		 in = {0}, got;
	struct sbc_error	 err = {0};
	size_t			 len = 1u << 20;
	char			*big = malloc(len);

	/* An id alone: runtime may be empty in the store. */
	in.id = "bare";
	itest_expect(sbc_store_create(c, &in, NULL, &err), 0, &err,
	    "create bare");
	itest_expect(sbc_store_get(c, "bare", &got, &err), 0, &err, "get bare");
	cr_assert_str_eq(got.runtime, "");
	cr_assert_eq(got.nlabels, 0);
	sbc_meta_free(&got);

	/* A 1 MiB spec: beyond nanopb's 64 KiB bytes arrays. */
	memset(big, 'x', len);
	in.id = "big";
	in.spec.type_url = OCI_SPEC_TYPE_URL;
	in.spec.value = big;
	in.spec.len = len;
	itest_expect(sbc_store_create(c, &in, NULL, &err), 0, &err,
	    "create big");
	itest_expect(sbc_store_get(c, "big", &got, &err), 0, &err, "get big");
	cr_assert_eq(got.spec.len, len);
	cr_assert_eq(memcmp(got.spec.value, big, len), 0);
	sbc_meta_free(&got);
	free(big);
	sbc_close(c);
}

Test(store, duplicate_is_already_exists)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};

	itest_expect(mk(c, "dup", NULL, 0, &err), 0, &err, "first create");
	itest_expect(mk(c, "dup", NULL, 0, &err), STATUS_ALREADY_EXISTS, &err,
	    "second create");
	sbc_close(c);
}

Test(store, invalid_ids)
{
	static const char *const bad[] = {
		"", "-a", "a-", "a..b", "a b", "a/b", ".a", "a_", "\xc3\xa9",
		"a\nb", "a:b",
	};
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;
	char			 id[80], what[128];
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(what, sizeof what, "create \"%s\"", bad[i]);
		itest_expect(mk(c, bad[i], NULL, 0, &err),
		    STATUS_INVALID_ARGUMENT, &err, what);
	}
	memset(id, 'a', 77);
	id[77] = '\0';
	itest_expect(mk(c, id, NULL, 0, &err), STATUS_INVALID_ARGUMENT, &err,
	    "create 77 chars");
	itest_expect(sbc_store_get(c, id, &m, &err), STATUS_INVALID_ARGUMENT,
	    &err, "get 77 chars");
	id[76] = '\0';
	itest_expect(mk(c, id, NULL, 0, &err), 0, &err, "create 76 chars");
	itest_expect(mk(c, "A.b_c-9", NULL, 0, &err), 0, &err,
	    "create A.b_c-9");
	itest_expect(sbc_store_get(c, "", &m, &err), STATUS_INVALID_ARGUMENT,
	    &err, "get empty id");
	itest_expect(sbc_store_delete(c, "a b", &err), STATUS_INVALID_ARGUMENT,
	    &err, "delete bad id");
	sbc_close(c);
}

Test(store, invalid_id_message_names_it)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};

	cr_assert_eq(mk(c, "bad id!", NULL, 0, &err), STATUS_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(err.message, "bad id!"),
	    "message should name the id: %s", err.message);
	sbc_error_clear(&err);
	sbc_close(c);
}

Test(store, invalid_labels)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_label	 l[1];
	char			*v = malloc(4097);

	l[0].key = "";
	l[0].value = "x";
	itest_expect(mk(c, "l1", l, 1, &err), STATUS_INVALID_ARGUMENT, &err,
	    "empty label key");
	memset(v, 'v', 4096);
	v[4096] = '\0';
	l[0].key = "k";
	l[0].value = v;			/* 1 + 4096 bytes */
	itest_expect(mk(c, "l2", l, 1, &err), STATUS_INVALID_ARGUMENT, &err,
	    "label of 4097 bytes");
	v[4095] = '\0';			/* 1 + 4095 = 4096 bytes: fine */
	itest_expect(mk(c, "l3", l, 1, &err), 0, &err, "label of 4096 bytes");
	free(v);
	sbc_close(c);
}

/* --- namespaces ----------------------------------------------------------- */

Test(store, missing_namespace_is_failed_precondition)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		*list, m;
	size_t			 n;

	sbc_set_namespace(c, NULL);
	itest_expect(mk(c, "nons", NULL, 0, &err), STATUS_FAILED_PRECONDITION,
	    &err, "create without namespace");
	itest_expect(sbc_store_get(c, "nons", &m, &err),
	    STATUS_FAILED_PRECONDITION, &err, "get without namespace");
	itest_expect(sbc_store_list(c, NULL, 0, &list, &n, &err),
	    STATUS_FAILED_PRECONDITION, &err, "list without namespace");
	itest_expect(sbc_store_delete(c, "nons", &err),
	    STATUS_FAILED_PRECONDITION, &err, "delete without namespace");
	sbc_close(c);
}

Test(store, grpc_namespace_key_accepted)
{
	struct sbc		*c = itest_connect(&itest_d, "ns-grpc");
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;

	sbc_set_namespace_grpc(c, true);
	itest_expect(mk(c, "g1", NULL, 0, &err), 0, &err,
	    "create with containerd-namespace");
	sbc_set_namespace_grpc(c, false);
	itest_expect(sbc_store_get(c, "g1", &m, &err), 0, &err,
	    "get in the same namespace, ttrpc key");
	sbc_meta_free(&m);
	sbc_close(c);
}

Test(store, invalid_namespace)
{
	struct sbc		*c = itest_connect(&itest_d, "bad ns");
	struct sbc_error	 err = {0};
	char			 ns[80];

	itest_expect(mk(c, "x", NULL, 0, &err), STATUS_INVALID_ARGUMENT, &err,
	    "namespace \"bad ns\"");
	memset(ns, 'n', 77);
	ns[77] = '\0';
	sbc_set_namespace(c, ns);
	itest_expect(mk(c, "x", NULL, 0, &err), STATUS_INVALID_ARGUMENT, &err,
	    "namespace of 77 chars");
	sbc_set_namespace(c, "a/b");
	itest_expect(mk(c, "x", NULL, 0, &err), STATUS_INVALID_ARGUMENT, &err,
	    "namespace \"a/b\"");
	sbc_close(c);
}

Test(store, namespaces_are_isolated)
{
	struct sbc		*c1 = itest_connect(&itest_d, "ns1");
	struct sbc		*c2 = itest_connect(&itest_d, "ns2");
	struct sbc_label	 l1[] = { { "owner", "one" } };
	struct sbc_label	 l2[] = { { "owner", "two" } };
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;

	itest_expect(mk(c1, "same", l1, 1, &err), 0, &err, "create in ns1");
	itest_expect(mk(c2, "same", l2, 1, &err), 0, &err, "create in ns2");
	itest_expect(mk(c1, "only1", NULL, 0, &err), 0, &err, "create only1");
	expect_list(c1, NULL, "only1,same");
	expect_list(c2, NULL, "same");
	itest_expect(sbc_store_get(c2, "same", &m, &err), 0, &err,
	    "get in ns2");
	cr_assert_str_eq(sbc_meta_label(&m, "owner"), "two");
	sbc_meta_free(&m);
	itest_expect(sbc_store_get(c2, "only1", &m, &err), STATUS_NOT_FOUND,
	    &err, "get ns1's id from ns2");
	itest_expect(sbc_store_delete(c1, "same", &err), 0, &err,
	    "delete in ns1");
	itest_expect(sbc_store_get(c2, "same", &m, &err), 0, &err,
	    "ns2's copy survives");
	sbc_meta_free(&m);
	expect_list(c1, NULL, "only1");
	sbc_close(c1);
	sbc_close(c2);
}

/* --- not found ------------------------------------------------------------ */

Test(store, not_found)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		 m = {0};
	const char		*fields[] = { "labels" };

	itest_expect(sbc_store_get(c, "ghost", &m, &err), STATUS_NOT_FOUND,
	    &err, "get");
	m.id = "ghost";
	itest_expect(sbc_store_update(c, &m, fields, 1, NULL, &err),
	    STATUS_NOT_FOUND, &err, "update");
	itest_expect(sbc_store_delete(c, "ghost", &err), STATUS_NOT_FOUND, &err,
	    "delete");
	sbc_close(c);
}

Test(store, delete_then_gone)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;

	itest_expect(mk(c, "del", NULL, 0, &err), 0, &err, "create");
	itest_expect(sbc_store_delete(c, "del", &err), 0, &err, "delete");
	itest_expect(sbc_store_get(c, "del", &m, &err), STATUS_NOT_FOUND, &err,
	    "get after delete");
	itest_expect(sbc_store_delete(c, "del", &err), STATUS_NOT_FOUND, &err,
	    "delete twice");
	itest_expect(mk(c, "del", NULL, 0, &err), 0, &err, "create again");
	sbc_close(c);
}

Test(store, delete_while_running_is_failed_precondition)
{
	static const char	 spec[] = "{\"process\":{\"args\":"
				     "[\"/bin/sleep\",\"60\"],\"cwd\":\"/\"}}";
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_sandbox_opts	 o = {0};
	struct sbc_sandbox	*sb;
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;
	uint32_t		 pid = 0;

	o.runtime = RUNTIME_EXEC;
	o.spec = itest_spec(spec);
	itest_expect(sbc_sandbox_new(c, "busy", &o, &sb, &err), 0, &err,
	    "new sandbox");
	itest_expect(sbc_sandbox_start(sb, &pid, &err), 0, &err, "start");
	cr_assert_gt(pid, 0);
	itest_expect(sbc_store_delete(c, "busy", &err),
	    STATUS_FAILED_PRECONDITION, &err, "delete the metadata of a "
	    "running sandbox");
	itest_expect(sbc_store_get(c, "busy", &m, &err), 0, &err,
	    "metadata still there");
	sbc_meta_free(&m);
	itest_expect(sbc_sandbox_shutdown(sb, &err), 0, &err,
	    "shutdown (controller, then store)");
	itest_expect(sbc_store_get(c, "busy", &m, &err), STATUS_NOT_FOUND, &err,
	    "metadata gone after shutdown");
	cr_assert_not(itest_pid_alive((pid_t)pid), "pid %u still runs", pid);
	sbc_sandbox_free(sb);
	sbc_close(c);
}

Test(store, pipelined_requests)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	cssv_StoreGetRequest	 req = {0};
	cssv_StoreGetResponse	*resp = calloc(1, sizeof *resp);
	struct sbc_reply	 reply;
	uint32_t		 s[3];
	char			 id[8];
	int			 i;

	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "pl%d", i);
		itest_expect(mk(c, id, NULL, 0, &err), 0, &err, "create");
	}
	for (i = 0; i < 3; i++) {
		snprintf(req.sandbox_id, sizeof req.sandbox_id, "pl%d", i);
		itest_expect(sbc_send(c, SERVICE_STORE, "Get",
		    cssv_StoreGetRequest_fields, &req, &s[i], &err), 0, &err,
		    "send");
	}
	for (i = 2; i >= 0; i--) {
		memset(resp, 0, sizeof *resp);
		itest_expect(sbc_recv(c, s[i], cssv_StoreGetResponse_fields,
		    resp, &reply, &err), 0, &err, "recv");
		snprintf(id, sizeof id, "pl%d", i);
		cr_assert_str_eq(resp->sandbox.sandbox_id, id);
		sbc_reply_free(&reply);
	}
	free(resp);
	sbc_close(c);
}

/* --- list and filters ----------------------------------------------------- */

/* Four sandboxes created out of order, for the filter tests. */
static void
make_filter_set(struct sbc *c)
{
	struct sbc_label	 la[] = { { "app", "web" }, { "env", "prod" } };
	struct sbc_label	 lb[] = { { "app", "db" }, { "env", "prod" } };
	struct sbc_label	 lc[] = { { "app", "web" } };
	struct sbc_label	 ld[] = { { "a.b/c", "x" } };
	struct sbc_extension	 ext[] = { { "net", { "t/n", "1", 1 } } };
	struct sbc_meta		 m = {0};
	struct sbc_error	 err = {0};

	itest_expect(mk(c, "sb-c", lc, 1, &err), 0, &err, "create sb-c");
	itest_expect(mk(c, "sb-a", la, 2, &err), 0, &err, "create sb-a");
	m.id = "sb.d";
	m.runtime = RUNTIME_PAUSE;
	m.labels = ld;
	m.nlabels = 1;
	m.extensions = ext;
	m.nextensions = 1;
	m.sandboxer = "podsandbox";
	itest_expect(sbc_store_create(c, &m, NULL, &err), 0, &err,
	    "create sb.d");
	itest_expect(mk(c, "sb-b", lb, 2, &err), 0, &err, "create sb-b");
}

Test(store, list_sorted_and_filtered)
{
	struct sbc	*c = itest_connect(&itest_d, "default");

	make_filter_set(c);
	expect_list(c, NULL, "sb-a,sb-b,sb-c,sb.d");
	expect_list(c, "labels.app==web", "sb-a,sb-c");
	expect_list(c, "labels.app==web,labels.env==prod", "sb-a");
	expect_list(c, "labels.env!=prod", "sb-c,sb.d");
	expect_list(c, "labels.env", "sb-a,sb-b");
	expect_list(c, "id==sb-b", "sb-b");
	expect_list(c, "id!=sb-b", "sb-a,sb-c,sb.d");
	expect_list(c, "id~=^sb-[ab]$", "sb-a,sb-b");
	expect_list(c, "labels.app==\"web\"", "sb-a,sb-c");
	expect_list(c, "labels.app~=/^w/", "sb-a,sb-c");
	expect_list(c, "labels.\"a.b/c\"==x", "sb.d");
	expect_list(c, "labels.nope", "");
	expect_list(c, "labels.app~=^$", "sb.d");
	expect_list(c, "runtime.name==" RUNTIME_PAUSE, "sb.d");
	expect_list(c, "runtime.name!=" RUNTIME_PAUSE, "sb-a,sb-b,sb-c");
	expect_list(c, "sandboxer==podsandbox", "sb.d");
	expect_list(c, "extensions.net", "sb.d");
	expect_list(c, "id==nothing", "");
	sbc_close(c);
}

Test(store, list_filters_are_ored)
{
	struct sbc	*c = itest_connect(&itest_d, "default");
	const char	*f1[] = { "id==sb-c", "labels.app==db" };
	const char	*f2[] = { "labels.env==prod", "labels.app==web" };
	char		*got;

	make_filter_set(c);
	got = list_ids(c, f1, 2);
	cr_assert_str_eq(got, "sb-b,sb-c");
	free(got);
	got = list_ids(c, f2, 2);
	cr_assert_str_eq(got, "sb-a,sb-b,sb-c", "no duplicates: %s", got);
	free(got);
	sbc_close(c);
}

Test(store, list_bad_filter)
{
	static const char *const bad[] = {
		"labels.app=web", "labels.app==web,", "==web", "labels.",
		"labels.app==\"web", "id===x",
	};
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		*list;
	size_t			 n, i;
	const char		*f[1];
	char			 what[128];

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f[0] = bad[i];
		snprintf(what, sizeof what, "filter %s", bad[i]);
		cr_assert_eq(sbc_store_list(c, f, 1, &list, &n, &err),
		    STATUS_INVALID_ARGUMENT, "%s: got %d (%s)", what, err.code,
		    err.message);
		cr_assert(strpbrk(err.message, "0123456789") != NULL,
		    "%s: the message should give the column: %s", what,
		    err.message);
		sbc_error_clear(&err);
	}
	sbc_close(c);
}

Test(store, list_bad_regex)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		*list;
	size_t			 n;
	const char		*f[] = { "labels.app~=(" };

	itest_expect(mk(c, "x", NULL, 0, &err), 0, &err, "create");
	itest_expect(sbc_store_list(c, f, 1, &list, &n, &err),
	    STATUS_INVALID_ARGUMENT, &err, "regex (");
	sbc_close(c);
}

/* --- update --------------------------------------------------------------- */

/* Update id with labels and field paths; the result in *out. */
static int
upd(struct sbc *c, const char *id, const struct sbc_label *labels, size_t n,
    const char *const *fields, size_t nfields, struct sbc_meta *out,
    struct sbc_error *err)
{
	struct sbc_meta	m = exec_meta(id, labels, n);

	return (sbc_store_update(c, &m, fields, nfields, out, err));
}

Test(store, update_label_paths)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_label	 l0[] = { { "a", "1" }, { "b", "2" } };
	struct sbc_label	 lc[] = { { "c", "3" } };
	struct sbc_label	 lx[] = { { "x", "9" } };
	const char		*fc[] = { "labels.c" }, *fa[] = { "labels.a" };
	const char		*fl[] = { "labels" };
	struct sbc_meta		 created, m1, m2, m3, got;
	struct sbc_meta		 in = exec_meta("u", l0, 2);
	struct sbc_error	 err = {0};
	struct timespec		 pause = { 0, 2000000 };

	itest_expect(sbc_store_create(c, &in, &created, &err), 0, &err,
	    "create");
	nanosleep(&pause, NULL);
	itest_expect(upd(c, "u", lc, 1, fc, 1, &m1, &err), 0, &err,
	    "add labels.c");
	cr_assert_eq(m1.nlabels, 3);
	cr_assert_str_eq(sbc_meta_label(&m1, "a"), "1");
	cr_assert_str_eq(sbc_meta_label(&m1, "c"), "3");
	cr_assert(ts_eq(&m1.created_at, &created.created_at),
	    "created_at must not change");
	cr_assert(ts_after(&m1.updated_at, &created.updated_at),
	    "updated_at must advance");
	nanosleep(&pause, NULL);
	itest_expect(upd(c, "u", NULL, 0, fa, 1, &m2, &err), 0, &err,
	    "delete labels.a");
	cr_assert_null(sbc_meta_label(&m2, "a"));
	cr_assert_str_eq(sbc_meta_label(&m2, "b"), "2");
	cr_assert_eq(m2.nlabels, 2);
	cr_assert(ts_after(&m2.updated_at, &m1.updated_at));
	itest_expect(upd(c, "u", lx, 1, fl, 1, &m3, &err), 0, &err,
	    "replace labels");
	cr_assert_eq(m3.nlabels, 1);
	cr_assert_str_eq(sbc_meta_label(&m3, "x"), "9");
	itest_expect(sbc_store_get(c, "u", &got, &err), 0, &err, "get");
	cr_assert_eq(got.nlabels, 1);
	cr_assert(ts_eq(&got.updated_at, &m3.updated_at),
	    "Get returns what Update returned");
	cr_assert(ts_eq(&got.created_at, &created.created_at));
	sbc_meta_free(&created);
	sbc_meta_free(&m1);
	sbc_meta_free(&m2);
	sbc_meta_free(&m3);
	sbc_meta_free(&got);
	sbc_close(c);
}

Test(store, update_extensions_spec_runtime)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_extension	 e1[] = { { "one", { "t/1", "a", 1 } } };
	struct sbc_extension	 e2[] = { { "two", { "t/2", "bb", 2 } } };
	const char		*f1[] = { "extensions.one" };
	const char		*fall[] = { "extensions" };
	const char		*fdel[] = { "extensions.two" };
	const char		*fspec[] = { "spec" }, *frt[] = { "runtime" };
	struct sbc_meta		 m = exec_meta("e", NULL, 0), out;
	struct sbc_error	 err = {0};

	itest_expect(mk(c, "e", NULL, 0, &err), 0, &err, "create");
	m.extensions = e1;
	m.nextensions = 1;
	itest_expect(sbc_store_update(c, &m, f1, 1, &out, &err), 0, &err,
	    "extensions.one");
	cr_assert_eq(out.nextensions, 1);
	cr_assert_str_eq(out.extensions[0].name, "one");
	sbc_meta_free(&out);
	m.extensions = e2;
	itest_expect(sbc_store_update(c, &m, fall, 1, &out, &err), 0, &err,
	    "extensions");
	cr_assert_eq(out.nextensions, 1);
	cr_assert_str_eq(out.extensions[0].name, "two");
	cr_assert_eq(out.extensions[0].value.len, 2);
	sbc_meta_free(&out);
	m.extensions = NULL;
	m.nextensions = 0;
	itest_expect(sbc_store_update(c, &m, fdel, 1, &out, &err), 0, &err,
	    "delete extensions.two");
	cr_assert_eq(out.nextensions, 0);
	sbc_meta_free(&out);
	m.spec = itest_spec("{\"new\":1}");
	itest_expect(sbc_store_update(c, &m, fspec, 1, &out, &err), 0, &err,
	    "spec");
	cr_assert_eq(out.spec.len, m.spec.len);
	cr_assert_eq(memcmp(out.spec.value, m.spec.value, m.spec.len), 0);
	sbc_meta_free(&out);
	m.runtime = RUNTIME_PAUSE;
	itest_expect(sbc_store_update(c, &m, frt, 1, &out, &err), 0, &err,
	    "runtime (explicit path may change the name)");
	cr_assert_str_eq(out.runtime, RUNTIME_PAUSE);
	sbc_meta_free(&out);
	sbc_close(c);
}

Test(store, update_empty_fields)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_label	 l0[] = { { "a", "1" } }, l1[] = { { "b", "2" } };
	struct sbc_meta		 m = exec_meta("ef", l1, 1), out;
	struct sbc_error	 err = {0};

	itest_expect(mk(c, "ef", l0, 1, &err), 0, &err, "create");
	m.spec = itest_spec("{}");
	itest_expect(sbc_store_update(c, &m, NULL, 0, &out, &err), 0, &err,
	    "update without fields, same runtime");
	cr_assert_eq(out.nlabels, 1);
	cr_assert_str_eq(sbc_meta_label(&out, "b"), "2");
	cr_assert_eq(out.spec.len, 2);
	sbc_meta_free(&out);
	m.runtime = RUNTIME_PAUSE;
	itest_expect(sbc_store_update(c, &m, NULL, 0, &out, &err),
	    STATUS_INVALID_ARGUMENT, &err,
	    "update without fields changing runtime.name");
	sbc_close(c);
}

Test(store, update_bad_paths)
{
	static const char *const bad[] = {
		"id", "created_at", "updated_at", "bogus", "sandbox_id",
	};
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		 out;
	const char		*f[1];
	size_t			 i;

	itest_expect(mk(c, "bp", NULL, 0, &err), 0, &err, "create");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f[0] = bad[i];
		cr_assert_eq(upd(c, "bp", NULL, 0, f, 1, &out, &err),
		    STATUS_INVALID_ARGUMENT, "path %s: got %d (%s)", bad[i],
		    err.code, err.message);
		cr_assert_not_null(strstr(err.message, bad[i]),
		    "the message should name path %s: %s", bad[i],
		    err.message);
		sbc_error_clear(&err);
	}
	sbc_close(c);
}

Test(store, update_invalid_label)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_label	 l[] = { { "", "x" } };
	const char		*f[] = { "labels" };
	struct sbc_error	 err = {0};
	struct sbc_meta		 out;

	itest_expect(mk(c, "ul", NULL, 0, &err), 0, &err, "create");
	itest_expect(upd(c, "ul", l, 1, f, 1, &out, &err),
	    STATUS_INVALID_ARGUMENT, &err, "update with an empty label key");
	sbc_close(c);
}

/* --- persistence ---------------------------------------------------------- */

/* Make a known state: p0..p9 created, p3 updated, p7 deleted. */
static void
make_persist_set(struct sbc *c, struct timespec *created_p0)
{
	struct sbc_label	 l[] = { { "gen", "2" } };
	const char		*f[] = { "labels.gen" };
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;
	char			 id[8];
	int			 i;

	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof id, "p%d", i);
		itest_expect(mk(c, id, NULL, 0, &err), 0, &err, "create");
	}
	itest_expect(upd(c, "p3", l, 1, f, 1, NULL, &err), 0, &err,
	    "update p3");
	itest_expect(sbc_store_delete(c, "p7", &err), 0, &err, "delete p7");
	itest_expect(sbc_store_get(c, "p0", &m, &err), 0, &err, "get p0");
	*created_p0 = m.created_at;
	sbc_meta_free(&m);
}

/* Check the state make_persist_set made. */
static void
check_persist_set(const struct timespec *created_p0)
{
	struct sbc		*c = itest_connect(&itest_d, "default");
	struct sbc_error	 err = {0};
	struct sbc_meta		 m;

	expect_list(c, NULL, "p0,p1,p2,p3,p4,p5,p6,p8,p9");
	itest_expect(sbc_store_get(c, "p3", &m, &err), 0, &err, "get p3");
	cr_assert_str_eq(sbc_meta_label(&m, "gen"), "2");
	sbc_meta_free(&m);
	itest_expect(sbc_store_get(c, "p0", &m, &err), 0, &err, "get p0");
	cr_assert(ts_eq(&m.created_at, created_p0));
	sbc_meta_free(&m);
	itest_expect(sbc_store_get(c, "p7", &m, &err), STATUS_NOT_FOUND, &err,
	    "p7 stays deleted");
	sbc_close(c);
}

Test(store, persists_across_clean_restart)
{
	struct sbc	*c = itest_connect(&itest_d, "default");
	struct timespec	 t;

	make_persist_set(c, &t);
	sbc_close(c);
	itest_daemon_restart(&itest_d);	/* SIGTERM, exit 0, start */
	check_persist_set(&t);
}

Test(store, persists_across_kill9)
{
	struct sbc	*c = itest_connect(&itest_d, "default");
	struct timespec	 t;

	make_persist_set(c, &t);
	itest_daemon_kill9(&itest_d);
	sbc_close(c);
	itest_daemon_restart(&itest_d);
	check_persist_set(&t);
}

/* One group-commit client: GC_PER_CLIENT creates; exit status 0 if all ok. */
static void
gc_client(int k)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 id[32], *cause = NULL;
	int			 i, code;

	if ((c = sbc_connect(itest_d.socket, &cause)) == NULL) {
		fprintf(stderr, "client %d: %s\n", k, cause);
		_exit(100);
	}
	sbc_set_timeout(c, 30000);
	for (i = 0; i < GC_PER_CLIENT; i++) {
		snprintf(id, sizeof id, "gc-%02d-%03d", k, i);
		if ((code = mk(c, id, NULL, 0, &err)) != 0) {
			fprintf(stderr, "client %d: create %s: %d %s\n", k, id,
			    code, err.message);
			_exit(101);
		}
	}
	sbc_close(c);
	_exit(0);
}

Test(store, group_commit_64_clients_then_kill9, .timeout = 120)
{
	struct sbc_meta		*list;
	struct sbc_error	 err = {0};
	struct sbc		*c;
	pid_t			 pids[GC_CLIENTS];
	size_t			 n, i;
	int64_t			 t0;
	int			 k, status;
	char			 want[32];

	t0 = itest_now_ms();
	for (k = 0; k < GC_CLIENTS; k++) {
		fflush(NULL);
		if ((pids[k] = fork()) == 0)
			gc_client(k);
		cr_assert_gt(pids[k], 0);
	}
	for (k = 0; k < GC_CLIENTS; k++) {
		cr_assert_eq(waitpid(pids[k], &status, 0), pids[k]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "client %d failed (status 0x%x)", k, status);
	}
	cr_log_info("%d creates by %d clients in %lld ms",
	    GC_CLIENTS * GC_PER_CLIENT, GC_CLIENTS,
	    (long long)(itest_now_ms() - t0));

	/* Every acknowledged create survives kill -9. */
	itest_daemon_kill9(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	itest_expect(sbc_store_list(c, NULL, 0, &list, &n, &err), 0, &err,
	    "list");
	cr_assert_eq(n, (size_t)GC_CLIENTS * GC_PER_CLIENT, "listed %zu", n);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof want, "gc-%02zu-%03zu", i / GC_PER_CLIENT,
		    i % GC_PER_CLIENT);
		cr_assert_str_eq(list[i].id, want);
	}
	sbc_meta_list_free(list, n);
	sbc_close(c);
}

Test(store_nostart, injected_commit_failure)
{
	struct sbc		*c;
	struct sbc_error	 err = {0};
	char			 id[16], acked[256] = "", *got;
	int			 i, code = 0, status;
	bool			 failed = false;

	itest_daemon_setenv(&itest_d, "SANDBOXD_TEST_FAIL_COMMIT_AFTER", "3");
	itest_daemon_start(&itest_d, NULL);
	c = itest_connect(&itest_d, "default");
	for (i = 0; i < 10 && !failed; i++) {
		snprintf(id, sizeof id, "cf%d", i);
		code = mk(c, id, NULL, 0, &err);
		if (code == 0) {
			if (acked[0] != '\0')
				strcat(acked, ",");
			strcat(acked, id);
			continue;
		}
		cr_assert_eq(code, STATUS_INTERNAL, "create %s after the "
		    "injected failure: got %d %s (%s), want Internal", id,
		    code, sbc_error_name(code), err.message);
		sbc_error_clear(&err);
		failed = true;
	}
	cr_assert(failed, "no create failed with commits failing after 3");
	sbc_close(c);

	/* The daemon exits non-zero after a failed commit. */
	status = itest_daemon_wait_exit(&itest_d, 10000);
	cr_assert_neq(status, -1, "the daemon still runs after a failed "
	    "commit");
	cr_assert(!WIFEXITED(status) || WEXITSTATUS(status) != 0,
	    "the daemon exited 0 after a failed commit");

	/* Restarted without the hook: acknowledged creates only. */
	itest_daemon_clearenv(&itest_d);
	itest_daemon_restart(&itest_d);
	c = itest_connect(&itest_d, "default");
	got = list_ids(c, NULL, 0);
	cr_assert_str_eq(got, acked, "after restart: [%s], acknowledged: [%s]",
	    got, acked);
	free(got);
	sbc_close(c);
}
