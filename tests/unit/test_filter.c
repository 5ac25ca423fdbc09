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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "re2_wrap.h"
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
assert_matches(struct filter *f, bool want_web, bool want_db,
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
		/* RE2 (Go) syntax, as containerd's users write it */
		{ "id~=(?i)^WEB", true, false },
		{ "id~=^WEB", false, false },
		{ "id~=\\d$", true, true },
		{ "id~=^\\w+-1$", true, false },
		{ "id~=^[[:alpha:]]+-[[:digit:]]$", true, true },
		{ "id~=^[^-]+-[^1]$", false, true },
		{ "id~=^web\\b", true, false },
		{ "id~=\\Adb", false, true },
		{ "id~=1\\z", true, false },
		{ "id~=^(?:web|db)-\\x32$", false, true },
		{ "id~=^w\\145b", true, false },
		{ "id~=\\Q-1\\E$", true, false },
		{ "id~=[(?=]", false, false },
		{ "id~=[]a]", false, false },
		{ "id~=(?P<name>web)", true, false },
		{ "id~=/b{1,1000}/", true, true },
		{ "id~=^.{5}$", true, false },
		{ "labels.uni~=^\\pL$", true, false },
		{ "labels.uni~=^.$", true, false },	/* one character */
		{ "labels.tab~=(?s)a.b", true, false },
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
	char	text[64];
	int	column;
	char	message[64];
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
		/* outside RE2 (Go) syntax: back-references, lookaround */
		{ "labels.k~=(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x", 31,
		    "back-references" },
		{ "id~=(a)\\1", 8, "back-references" },
		{ "id~=(a)\\9", 8, "back-references" },
		{ "id~=(a)\\1b", 8, "back-references" },
		{ "id~=[(?=]\\1", 10, "back-references" },
		{ "id~=\\Q\\1\\E\\1", 11, "back-references" },
		/* escapes: the column is the value's */
		{ "id~=\"(a)\\\\1\"", 5, "back-references" },
		{ "id~=|(a)\\\\1|", 5, "back-references" },
		{ "id~=|(a)\\1|", 9, "needs 3 octal digits" },
		{ "id~=a(?=b)", 6, "lookaround" },
		{ "id~=(?!a)", 5, "lookaround" },
		{ "id~=(?<=a)b", 5, "lookaround" },
		{ "id~=x(?<!a)b", 6, "lookaround" },
		{ "id~=/a(?=b)/", 7, "lookaround" },	/* no escapes */
		{ "id~=\\C", 5, "\\C is not in RE2" },
		{ "id~=(?>a)", 5, "invalid regular expression" },
		{ "id~=a*+", 5, "invalid regular expression" },
		{ "id~=a{1001}", 5, "invalid regular expression" },
		{ "id~=(?P=n)", 5, "invalid regular expression" },
		{ "id~=\\Z", 5, "invalid regular expression" },
		{ "id~=[[:word:]", 5, "invalid regular expression" },
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

Test(filter, bad_regex_cause_has_re2_text)
{
	const char	*strings[] = { "id==web-1", "labels.env~=/a(b/" };
	char		*cause;

	cause = must_fail(strings, 2);
	cr_assert_str_eq(cause, "filter 2 \"labels.env~=/a(b/\": column 13: "
	    "invalid regular expression: missing ): a(b");
	free(cause);
}

/* --- regular expressions: RE2's language and its limits ------------------ */

Test(filter, backreference_cause_names_its_column)
{
	const char	*strings[] = {
		"id==web-1",
		"labels.k~=(.*)(.*)(.*)(.*)(.*)\\5\\4\\3\\2\\1x",
	};
	char		*cause;

	/* The pattern that held the loop 3.4 s on a 45-byte label. */
	cause = must_fail(strings, 2);
	cr_assert_str_eq(cause, "filter 2 \"labels.k~=(.*)(.*)(.*)(.*)(.*)"
	    "\\\\5\\\\4\\\\3\\\\2\\\\1x\": column 31: invalid regular "
	    "expression: back-references (\\1 .. \\9) are not in RE2 syntax");
	free(cause);
}

/* Filter "id~=" followed by a pattern of n bytes of c. */
static char *
long_pattern(size_t n, char c)
{
	char	*s = xmalloc(n + 5);

	memcpy(s, "id~=", 4);
	memset(s + 4, c, n);
	s[n + 4] = '\0';
	return (s);
}

Test(filter, pattern_length_is_capped)
{
	char		*longest = long_pattern(FILTER_REGEX_MAX, 'b');
	char		*too_long = long_pattern(FILTER_REGEX_MAX + 1, 'b');
	char		*cause, want[128];
	struct filter	*f;

	f = must_parse((const char *const *)&longest, 1);
	assert_matches(f, false, false, "512 b's");
	filter_free(f);
	cause = must_fail((const char *const *)&too_long, 1);
	snprintf(want, sizeof want, "\": column 5: invalid regular expression: "
	    "%d bytes, more than %d", FILTER_REGEX_MAX + 1, FILTER_REGEX_MAX);
	cr_expect(strstr(cause, want) != NULL, "cause: %s", cause);
	free(cause);
	free(longest);
	free(too_long);
}

Test(filter, patterns_per_request_are_capped)
{
	const char	*strings[FILTER_REGEX_COUNT + 1];
	struct filter	*f;
	char		*cause;
	size_t		 i;

	for (i = 0; i < FILTER_REGEX_COUNT; i++)
		strings[i] = "id~=^db";
	f = must_parse(strings, FILTER_REGEX_COUNT);
	assert_matches(f, false, true, "32 patterns");
	filter_free(f);
	strings[FILTER_REGEX_COUNT] = "id==x,labels.env~=x";
	cause = must_fail(strings, FILTER_REGEX_COUNT + 1);
	cr_assert_str_eq(cause, "filter 33 \"id==x,labels.env~=x\": column 19: "
	    "more than 32 regular expressions in one request");
	free(cause);
}

Test(filter, huge_compiled_pattern_is_refused)
{
	/* 1000 repetitions of a Unicode class: too big for RX_MAX_MEM. */
	const char	*strings[] = { "id~=\\pL{1000}" };
	char		*cause;

	cause = must_fail(strings, 1);
	cr_expect(strstr(cause, ": column 5: invalid regular expression: ") !=
	    NULL, "cause: %s", cause);
	free(cause);
}

/* A record whose only label, k, holds text (no other field is present). */
static bool
one_label_lookup(const char *const *path, size_t depth, const char **value,
    void *arg)
{
	if (depth != 2 || strcmp(path[0], "labels") != 0 ||
	    strcmp(path[1], "k") != 0)
		return (false);
	*value = arg;
	return (true);
}

struct nasty_case {
	char	pattern[48];
	bool	match;
};

/*
 * Patterns that take a backtracking matcher exponential time on a run of
 * 'a's, against 4 KiB labels, as on up to 100 records: RE2 is linear in
 * the label, so each finishes with the right answer, until the filter's
 * work budget (which bounds the rest) runs out.  The .timeout is only a
 * backstop.
 */
ParameterizedTestParameters(filter, nasty_patterns_finish)
{
	static struct nasty_case cases[] = {
		{ "(a*)*b", false },
		{ "(a*)*$", true },
		{ "(a+)+b", false },
		{ "(a|a)*b", false },
		{ "(a|aa)*c", false },
		{ "^(a|aa)*$", true },
		{ "(.*)(.*)(.*)(.*)(.*)x", false },
		{ "(.*)(.*)(.*)(.*)(.*)a$", true },
		{ "^(a?){25}a{25}$", false },	/* 4096 a's: too many */
		{ "(a?){25}a{25}", true },	/* unanchored: found */
		{ "^(\\w+\\s?)*$", true },
		{ "^(\\w+\\s?)*!$", false },
		{ "/((a{1,10}){1,10}){1,5}b/", false },	/* has ',' */
		{ "(?i)(A*)*A{1000}$", true },
		{ "a{4097}", false },		/* RE2 refuses: > 1000 */
	};

	return (cr_make_param_array(struct nasty_case, cases,
	    sizeof cases / sizeof cases[0]));
}

ParameterizedTest(struct nasty_case *c, filter, nasty_patterns_finish,
    .timeout = 120)
{
	char		 filter[64], *label, *cause = NULL;
	const char	*strings[] = { filter };
	struct filter	*f;
	bool		 matched;
	int		 i;

	snprintf(filter, sizeof filter, "labels.k~=%s", c->pattern);
	f = filter_parse(strings, 1, &cause);
	if (strcmp(c->pattern, "a{4097}") == 0) {
		cr_assert_null(f);
		cr_expect(strstr(cause, "invalid regular expression") != NULL);
		free(cause);
		return;
	}
	cr_assert_not_null(f, "%s: %s", c->pattern, cause);
	label = xmalloc(4097);
	memset(label, 'a', 4096);
	label[4096] = '\0';
	/* Many records, as a List over a full namespace would see them. */
	for (i = 0; i < 100; i++) {
		matched = filter_match(f, one_label_lookup, label);
		if (filter_exhausted(f))
			break;
		cr_assert_eq(matched, c->match, "%s on 4096 a's", c->pattern);
	}
	cr_assert_gt(i, 0, "%s: the budget allows one match", c->pattern);
	free(label);
	filter_free(f);
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

Test(filter, work_budget_stops_matching, .timeout = 120)
{
	/* RE2 runs its NFA here: ~program size steps per byte. */
	const char	*strings[] = { "labels.k~=/a{1,1000}b/" };
	struct rx	*rx;
	struct filter	*f;
	char		*label, b[] = "ab";
	size_t		 cost, fit, i;

	rx = rx_compile("a{1,1000}b", NULL);
	cr_assert_not_null(rx);
	cr_assert_leq(rx_size(rx), FILTER_REGEX_PROG);
	cost = 4097 * rx_size(rx);
	fit = FILTER_REGEX_WORK / cost;
	rx_free(rx);
	cr_assert_geq(fit, 2);
	label = xmalloc(4097);
	memset(label, 'a', 4096);
	label[4096] = '\0';
	f = must_parse(strings, 1);
	for (i = 0; i < fit; i++) {
		cr_assert_not(filter_match(f, one_label_lookup, label));
		cr_assert_not(filter_exhausted(f), "exhausted after %zu", i);
	}
	/* One more would pass the budget: not run; even "ab" is not now. */
	cr_assert_not(filter_match(f, one_label_lookup, label));
	cr_assert(filter_exhausted(f));
	cr_assert_not(filter_match(f, one_label_lookup, b));
	cr_assert(filter_exhausted(f));
	filter_free(f);
	/* The budget is per filter (per request): a new one starts afresh. */
	f = must_parse(strings, 1);
	cr_assert(filter_match(f, one_label_lookup, b));
	cr_assert_not(filter_exhausted(f));
	filter_free(f);
	free(label);
}

Test(filter, big_program_is_refused)
{
	/* a{1000} is 1004 instructions, a{1,1000} twice that: too big. */
	const char	*ok[] = { "id~=a{1000}" };
	const char	*big[] = { "id~=/[a-z]{1,1000}[0-9]{1,1000}/" };
	struct filter	*f;
	char		*cause;

	f = must_parse(ok, 1);
	filter_free(f);
	cause = must_fail(big, 1);
	cr_expect(strstr(cause, ": column 5: invalid regular expression: it "
	    "compiles to ") != NULL, "cause: %s", cause);
	cr_expect(strstr(cause, "instructions, more than 2048") != NULL,
	    "cause: %s", cause);
	free(cause);
}
