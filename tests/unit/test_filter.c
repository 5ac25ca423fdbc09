/*
 * test_filter.c: the List filter language (handlers/filter.c).
 *
 * Filters are matched against two fake records through a lookup over
 * static tables, joining labels.* components with '.' as the Store's List
 * handler does.  Tables of cases are parameterized tests; their strings
 * live in fixed arrays inside the parameters, so nothing points into the
 * parent's memory.
 */
#include <sys/types.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "xmalloc.h"

struct kv {
	const char	*key;
	const char	*value;
};

struct record {
	const char	*id;
	const char	*runtime;	/* NULL: absent */
	const char	*sandboxer;	/* NULL: absent */
	const struct kv	*labels;	/* ends with a NULL key */
	const struct kv	*extensions;	/* value NULL: present, no text */
};

static const struct kv web_labels[] = {
	{ "env", "prod" },
	{ "app.kubernetes.io/name", "web" },
	{ "a.b", "dotted" },
	{ "quo\"te\\", "escaped" },
	{ "tab", "a\tb" },
	{ "empty", "" },
	{ "uni", "\xc3\xbc" },
	{ NULL, NULL },
};
static const struct kv web_extensions[] = {
	{ "net", NULL },
	{ NULL, NULL },
};
static const struct record web = {
	"web-1", "io.containerd.runc.v2", "podsandbox", web_labels,
	web_extensions
};

static const struct kv db_labels[] = {
	{ "env", "dev" },
	{ "a.b", "other" },
	{ NULL, NULL },
};
static const struct kv no_extensions[] = {
	{ NULL, NULL },
};
static const struct record db = {
	"db-2", NULL, NULL, db_labels, no_extensions
};

/* Find key in a table. */
static bool
kv_find(const struct kv *kv, const char *key, const char **value)
{
	for (; kv->key != NULL; kv++) {
		if (strcmp(kv->key, key) == 0) {
			*value = kv->value;
			return (true);
		}
	}
	return (false);
}

/* An optional scalar field. */
static bool
optional(const char *field, const char **value)
{
	*value = field;
	return (field != NULL);
}

/* Join n components with '.'. */
static char *
join(const char *const *path, size_t n)
{
	char	*s = xstrdup(path[0]), *t;
	size_t	 i;

	for (i = 1; i < n; i++) {
		xasprintf(&t, "%s.%s", s, path[i]);
		free(s);
		s = t;
	}
	return (s);
}

/* The lookup a List handler would write, over struct record. */
static bool
record_lookup(const char *const *path, size_t depth, const char **value,
    void *arg)
{
	const struct record	*r = arg;
	char			*key;
	bool			 found;

	if (depth == 1 && strcmp(path[0], "id") == 0)
		return (optional(r->id, value));
	if (depth == 1 && strcmp(path[0], "sandboxer") == 0)
		return (optional(r->sandboxer, value));
	if (depth == 2 && strcmp(path[0], "runtime") == 0 &&
	    strcmp(path[1], "name") == 0)
		return (optional(r->runtime, value));
	if (depth == 2 && strcmp(path[0], "extensions") == 0)
		return (kv_find(r->extensions, path[1], value));
	if (depth >= 2 && strcmp(path[0], "labels") == 0) {
		key = join(path + 1, depth - 1);
		found = kv_find(r->labels, key, value);
		free(key);
		return (found);
	}
	return (false);
}

/* Parse n strings, failing the test with the cause if that fails. */
static struct filter *
must_parse(const char *const *strings, size_t n)
{
	struct filter	*f;
	char		*cause = NULL;

	f = filter_parse(strings, n, &cause);
	cr_assert_not_null(f, "filter_parse failed: %s", cause);
	cr_assert_null(cause);
	return (f);
}

/* Parse n strings that must fail; return the cause. */
static char *
must_fail(const char *const *strings, size_t n)
{
	struct filter	*f;
	char		*cause = NULL;

	f = filter_parse(strings, n, &cause);
	cr_assert_null(f, "filter_parse accepted \"%s\"", strings[n - 1]);
	cr_assert_not_null(cause);
	return (cause);
}

/* Assert what f says about both records. */
static void
assert_matches(const struct filter *f, bool want_web, bool want_db,
    const char *what)
{
	cr_expect_eq(filter_match(f, record_lookup, (void *)&web), want_web,
	    "%s: web-1 should %smatch", what, want_web ? "" : "not ");
	cr_expect_eq(filter_match(f, record_lookup, (void *)&db), want_db,
	    "%s: db-2 should %smatch", what, want_db ? "" : "not ");
}

/* --- one filter string against both records --------------------------- */

struct valid_case {
	char	text[64];
	bool	web;
	bool	db;
};

ParameterizedTestParameters(filter, valid)
{
	static struct valid_case cases[] = {
		/* presence, ==, != */
		{ "id", true, true },
		{ "id==web-1", true, false },
		{ "id==\"web-1\"", true, false },
		{ "id!=web-1", false, true },
		{ "labels.env", true, true },
		{ "labels.env==prod", true, false },
		{ "labels.env!=prod", false, true },
		{ "labels.missing", false, false },
		{ "labels.empty", true, false },
		{ "labels.empty==\"\"", true, false },
		/* != on an absent field holds; == does not, even for "" */
		{ "labels.missing!=x", true, true },
		{ "labels.missing!=\"\"", true, true },
		{ "labels.missing==\"\"", false, false },
		{ "runtime.name", true, false },
		{ "runtime.name==io.containerd.runc.v2", true, false },
		{ "runtime.name!=io.containerd.runc.v2", false, true },
		{ "sandboxer==podsandbox", true, false },
		{ "extensions.net", true, false },
		{ "extensions.net==\"\"", true, false },
		{ "extensions.other", false, false },
		/* quoted and dotted label keys */
		{ "labels.\"app.kubernetes.io/name\"==web", true, false },
		{ "labels.\"app.kubernetes.io/name\"", true, false },
		{ "labels.a.b==dotted", true, false },
		{ "labels.\"a.b\"==dotted", true, false },
		{ "labels.\"a\".\"b\"==other", false, true },
		{ "labels.\"quo\\\"te\\\\\"==escaped", true, false },
		{ "\"id\"==web-1", true, false },
		/* escapes in quoted values; UTF-8 values */
		{ "labels.tab==\"a\\tb\"", true, false },
		{ "labels.tab==\"a\\x09b\"", true, false },
		{ "labels.tab==\"a\\011b\"", true, false },
		{ "labels.tab==\"a\\u0009b\"", true, false },
		{ "labels.uni==\"\\u00fc\"", true, false },
		{ "labels.uni==\"\\U000000FC\"", true, false },
		{ "labels.uni==\"\xc3\xbc\"", true, false },
		{ "labels.uni==\xc3\xbc", true, false },
		{ "labels.env==\"pr\\x6fd\"", true, false },
		/* regular expressions: unanchored ERE, three quotings */
		{ "id~=b", true, true },
		{ "id~=^x", false, false },
		{ "id~=^(web|db)-[0-9]+$", true, true },
		{ "id~=/^web/", true, false },
		{ "id~=|^db|", false, true },
		{ "id~=\"-[12]$\"", true, true },
		{ "id~=/^web\\/?-1$/", true, false },
		{ "labels.\"a.b\"~=^dot", true, false },
		{ "labels.env~=^$", false, false },
		{ "labels.missing~=^$", true, true },
		{ "labels.missing~=/./", false, false },
		{ "labels.empty~=^$", true, true },	/* db: absent */
		/* AND within a string */
		{ "id==web-1,labels.env==prod", true, false },
		{ "id==web-1,labels.env==dev", false, false },
		{ "labels.env,labels.\"a.b\",id~=-", true, true },
		{ "labels.env!=prod,labels.a.b==other", false, true },
		/* whitespace before a field, an operator or a value */
		{ " id == web-1", true, false },
		{ "id==web-1, labels.env ~= ^p", true, false },
		{ "labels. env==dev", false, true },
		/* unquoted values keep '=', '.', '"' after their first byte */
		{ "labels.env==prod=x", false, false },
		{ "runtime.name~=io.containerd", true, false },
		/* the empty string matches everything */
		{ "", true, true },
	};

	return (cr_make_param_array(struct valid_case, cases,
	    sizeof cases / sizeof cases[0]));
}

ParameterizedTest(struct valid_case *c, filter, valid)
{
	const char	*strings[] = { c->text };
	struct filter	*f;

	f = must_parse(strings, 1);
	assert_matches(f, c->web, c->db, c->text);
	filter_free(f);
}

/* --- filter strings that must not parse --------------------------------- */

struct invalid_case {
	char	text[32];
	int	column;
	char	message[48];
};

ParameterizedTestParameters(filter, invalid)
{
	static struct invalid_case cases[] = {
		/* empty fields, trailing and doubled separators */
		{ "labels.=x", 8, "expected field name" },
		{ "labels.", 8, "expected field name" },
		{ "labels..x", 8, "expected field name" },
		{ ".id", 1, "expected field name" },
		{ "id==a,", 7, "expected field name" },
		{ "id,,x", 4, "expected field name" },
		{ "  ", 3, "expected field name" },
		{ "?id", 1, "expected field name" },
		{ "labels.\"\"==x", 8, "empty field name" },
		{ "labels.ns/key==v", 10, "a field with '/' must be quoted" },
		{ "labels.|k|==v", 8, "a field is quoted with '\"'" },
		/* operators */
		{ "id=a", 3, "unknown operator \"=\"" },
		{ "id=~a", 3, "unknown operator \"=~\"" },
		{ "id===a", 3, "unknown operator \"===\"" },
		{ "id==!x", 3, "unknown operator \"==!\"" },
		{ "id>a", 3, "expected operator" },
		{ "id ", 4, "expected operator" },
		{ "id ,x", 4, "expected operator" },
		/* values */
		{ "id==", 5, "expected value" },
		{ "id==,x", 5, "expected value" },
		{ "id~= ", 6, "expected value" },
		{ "id==.x", 5, "expected value" },
		{ "id==\x01", 5, "expected value" },
		{ "id==\xff", 5, "expected value" },
		{ "id==/web/", 5, "only a ~= value may be quoted with '/'" },
		{ "id!=|web|", 5, "only a ~= value may be quoted with '|'" },
		/* garbage after a selector */
		{ "id==a b", 6, "unexpected character ' '" },
		{ "id==a ", 6, "unexpected character ' '" },
		{ "id==\"a\"b", 8, "unexpected character 'b'" },
		{ "id==a\x01", 6, "unexpected byte 0x01" },
		{ "id==a\xff", 6, "unexpected byte 0xff" },
		{ "labels .a", 8, "expected operator" },
		/* quoting and escapes */
		{ "labels.\"abc==x", 8, "unterminated quoted string" },
		{ "id==\"abc", 5, "unterminated quoted string" },
		{ "id~=/abc", 5, "unterminated quoted string" },
		{ "id==\"a\nb\"", 5, "unterminated quoted string" },
		{ "id==\"a\\qb\"", 7, "invalid escape sequence" },
		{ "id==\"a\\/\"", 7, "invalid escape sequence" },
		{ "id~=/a\\\"/", 7, "invalid escape sequence" },
		{ "id==\"a\\", 7, "invalid escape sequence" },
		{ "id==\"\\x4\"", 6, "needs 2 hexadecimal digits" },
		{ "id==\"\\u12g4\"", 6, "needs 4 hexadecimal digits" },
		{ "id==\"\\18\"", 6, "needs 3 octal digits" },
		{ "id==\"\\x00\"", 6, "NUL byte" },
		{ "id==\"\\000\"", 6, "NUL byte" },
		{ "id==\"\\400\"", 6, "octal escape above \\377" },
		{ "id==\"\\ud800\"", 6, "invalid Unicode code point" },
		{ "id==\"\\U00110000\"", 6, "invalid Unicode code point" },
		{ "id==\"a\xff\"", 7, "invalid UTF-8" },
		/* regular expressions that do not compile */
		{ "id~=(", 5, "invalid regular expression" },
		{ "id~=/[a/", 5, "invalid regular expression" },
		{ "id==a,id~= (a", 12, "invalid regular expression" },
	};

	return (cr_make_param_array(struct invalid_case, cases,
	    sizeof cases / sizeof cases[0]));
}

ParameterizedTest(struct invalid_case *c, filter, invalid)
{
	const char	*strings[] = { c->text };
	char		*cause, column[32];

	cause = must_fail(strings, 1);
	snprintf(column, sizeof column, ": column %d: ", c->column);
	cr_expect(strncmp(cause, "filter 1 \"", 10) == 0,
	    "cause does not name filter 1: %s", cause);
	cr_expect(strstr(cause, column) != NULL,
	    "cause lacks \"%s\": %s", column, cause);
	cr_expect(strstr(cause, c->message) != NULL,
	    "cause lacks \"%s\": %s", c->message, cause);
	free(cause);
}

/* --- several strings: OR ------------------------------------------------- */

Test(filter, or_across_strings)
{
	const char	*both[] = { "id==web-1", "id==db-2" };
	const char	*second[] = { "id==nope", "labels.env==dev" };
	const char	*neither[] = { "id==nope", "labels.env==test" };
	struct filter	*f;

	f = must_parse(both, 2);
	assert_matches(f, true, true, "web-1 or db-2");
	filter_free(f);
	f = must_parse(second, 2);
	assert_matches(f, false, true, "nope or env==dev");
	filter_free(f);
	f = must_parse(neither, 2);
	assert_matches(f, false, false, "nope or env==test");
	filter_free(f);
}

Test(filter, and_inside_or)
{
	const char	*strings[] = {
		"id==web-1,labels.env==dev",	/* false for both */
		"labels.env==dev,labels.a.b==other",	/* db only */
	};
	struct filter	*f;

	f = must_parse(strings, 2);
	assert_matches(f, false, true, "and inside or");
	filter_free(f);
}

Test(filter, no_strings_match_everything)
{
	struct filter	*f;

	f = must_parse(NULL, 0);
	assert_matches(f, true, true, "no filters");
	filter_free(f);
}

Test(filter, empty_string_in_list_matches_everything)
{
	const char	*strings[] = { "id==nope", "" };
	struct filter	*f;

	f = must_parse(strings, 2);
	assert_matches(f, true, true, "nope or \"\"");
	filter_free(f);
}

/* --- error messages ------------------------------------------------------ */

Test(filter, cause_names_filter_text_and_column)
{
	const char	*strings[] = { "id==a", "labels.=x" };
	char		*cause;

	cause = must_fail(strings, 2);
	cr_assert_str_eq(cause,
	    "filter 2 \"labels.=x\": column 8: expected field name");
	free(cause);
}

Test(filter, cause_escapes_the_filter_text)
{
	const char	*strings[] = { "labels.\"a\\\"b\xff\"" };
	char		*cause;

	/* The text is labels."a\"b<0xff>" ; the bad byte is at column 13. */
	cause = must_fail(strings, 1);
	cr_assert_str_eq(cause, "filter 1 \"labels.\\\"a\\\\\\\"b\\xff\\\"\": "
	    "column 13: invalid UTF-8");
	free(cause);
}

Test(filter, first_bad_filter_is_reported)
{
	const char	*strings[] = { "id=x", "id==" };
	char		*cause;

	cause = must_fail(strings, 2);
	cr_assert_str_eq(cause, "filter 1 \"id=x\": column 3: unknown operator "
	    "\"=\" (expected ==, != or ~=)");
	free(cause);
}

Test(filter, bad_regex_cause_has_regerror_text)
{
	const char	*strings[] = { "id==web-1", "labels.env~=/a(b/" };
	const char	*prefix = "filter 2 \"labels.env~=/a(b/\": column 13: "
			    "invalid regular expression: ";
	char		*cause, want[256];
	regex_t		 re;
	int		 error;

	error = regcomp(&re, "a(b", REG_EXTENDED | REG_NOSUB);
	cr_assert_neq(error, 0);
	regerror(error, &re, want, sizeof want);
	cause = must_fail(strings, 2);
	cr_expect(strncmp(cause, prefix, strlen(prefix)) == 0, "cause: %s",
	    cause);
	cr_expect(strstr(cause, want) != NULL, "cause lacks \"%s\": %s", want,
	    cause);
	free(cause);
}

Test(filter, null_cause_is_allowed)
{
	const char	*strings[] = { "id==" };

	cr_assert_null(filter_parse(strings, 1, NULL));
}

Test(filter, free_null)
{
	filter_free(NULL);
}

/* --- what the lookup receives -------------------------------------------- */

struct seen {
	char	*path[8];
	size_t	 depth;
	int	 calls;
};

/* Record the path asked for; say the field is absent. */
static bool
recording_lookup(const char *const *path, size_t depth, const char **value,
    void *arg)
{
	struct seen	*seen = arg;
	size_t		 i;

	(void)value;
	cr_assert_leq(depth, 8);
	for (i = 0; i < seen->depth; i++)
		free(seen->path[i]);
	for (i = 0; i < depth; i++)
		seen->path[i] = xstrdup(path[i]);
	seen->depth = depth;
	seen->calls++;
	return (false);
}

/* Parse text, match once, and compare the path the lookup saw. */
static void
assert_path(const char *text, const char *const *want, size_t depth)
{
	struct seen	 seen = { .depth = 0 };
	struct filter	*f;
	size_t		 i;

	f = must_parse(&text, 1);
	filter_match(f, recording_lookup, &seen);
	cr_assert_eq(seen.calls, 1, "%s: %d lookups", text, seen.calls);
	cr_assert_eq(seen.depth, depth, "%s: depth %zu, want %zu", text,
	    seen.depth, depth);
	for (i = 0; i < depth; i++) {
		cr_expect_str_eq(seen.path[i], want[i], "%s: component %zu",
		    text, i);
		free(seen.path[i]);
	}
	filter_free(f);
}

Test(filter, lookup_gets_components_as_parsed)
{
	const char	*dotted[] = { "labels", "a", "b" };
	const char	*quoted[] = { "labels", "a.b/c" };
	const char	*escaped[] = { "labels", "x\"y\\z" };
	const char	*runtime[] = { "runtime", "name" };
	const char	*id[] = { "id" };

	assert_path("labels.a.b", dotted, 3);
	assert_path("labels.a.b==v", dotted, 3);
	assert_path("labels.\"a.b/c\"!=v", quoted, 2);
	assert_path("\"labels\".\"a.b/c\"~=x", quoted, 2);
	assert_path("labels.\"x\\\"y\\\\z\"", escaped, 2);
	assert_path(" runtime. name==x", runtime, 2);
	assert_path("id", id, 1);
}

/* Say every field is absent, but leave junk in *value. */
static bool
absent_lookup(const char *const *path, size_t depth, const char **value,
    void *arg)
{
	(void)path;
	(void)depth;
	(void)arg;
	*value = "junk";
	return (false);
}

Test(filter, value_of_absent_field_is_ignored)
{
	const char	*strings[] = { "id~=^$,id!=junk,labels.x!=\"\"" };
	const char	*equal[] = { "id==junk" };
	struct filter	*f;

	f = must_parse(strings, 1);
	cr_expect(filter_match(f, absent_lookup, NULL));
	filter_free(f);
	f = must_parse(equal, 1);
	cr_expect_not(filter_match(f, absent_lookup, NULL));
	filter_free(f);
}

Test(filter, and_stops_at_first_false)
{
	const char	*strings[] = { "labels.a,labels.b,labels.c" };
	struct seen	 seen = { .depth = 0 };
	struct filter	*f;

	f = must_parse(strings, 1);
	cr_assert_not(filter_match(f, recording_lookup, &seen));
	cr_expect_eq(seen.calls, 1);
	free(seen.path[0]);
	free(seen.path[1]);
	filter_free(f);
}
