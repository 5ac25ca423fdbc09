/*
 * filter.c: parse and evaluate containerd's filter language.
 *
 * A filter is a list of clauses (one per filter string, OR-ed); a clause is
 * a list of selectors (AND-ed).  The parser is recursive descent over the
 * string with one byte of lookahead: it reads a field, operator or value
 * after skipping whitespace, but looks at the very next byte for '.' and
 * ',' and the end, which is what makes containerd refuse a space there.
 * filter.h has the grammar and the matching rules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "queue.h"
#include "re2_wrap.h"
#include "xmalloc.h"

enum filter_op {
	FILTER_OP_PRESENT,
	FILTER_OP_EQUAL,
	FILTER_OP_NOT_EQUAL,
	FILTER_OP_MATCH,
};

struct filter_selector {
	char			**path;
	size_t			  depth;
	enum filter_op		  op;
	char			 *value;
	struct rx		 *re;		/* ~= only */
	TAILQ_ENTRY(filter_selector) entry;
};

struct filter_clause {
	TAILQ_HEAD(, filter_selector) selectors;
	TAILQ_ENTRY(filter_clause) entry;
};

struct filter {
	TAILQ_HEAD(, filter_clause) clauses;
	size_t		 work;		/* matching so far: bytes x program */
	bool		 exhausted;	/* work would pass FILTER_REGEX_WORK */
};

/* Where the parser is in one filter string, and what went wrong. */
struct filter_parser {
	const char	*s;
	size_t		 pos;
	size_t		 errpos;
	char		*error;
	size_t		*nregex;	/* expressions so far, all strings */
};

static int	parser_error(struct filter_parser *, size_t, const char *, ...)
		    __attribute__((__format__(__printf__, 3, 4)));

/* Record an error at byte offset pos; always returns -1. */
static int
parser_error(struct filter_parser *p, size_t pos, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	free(p->error);
	xvasprintf(&p->error, fmt, ap);
	va_end(ap);
	p->errpos = pos;
	return (-1);
}

/* Whitespace as the grammar sees it: ASCII only. */
static bool
is_space(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\v' ||
	    c == '\f' || c == '\r');
}

/* A byte of an unquoted field name. */
static bool
is_field_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-');
}

/* A byte that starts (and continues) an operator. */
static bool
is_op_char(char c)
{
	return (c == '=' || c == '!' || c == '~');
}

/* Length of the valid UTF-8 sequence at s (a byte >= 0x80), else 0. */
static size_t
utf8_len(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned char		 lo = 0x80, hi = 0xbf;
	size_t			 n, i;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		lo = u[0] == 0xe0 ? 0xa0 : 0x80;
		hi = u[0] == 0xed ? 0x9f : 0xbf;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		lo = u[0] == 0xf0 ? 0x90 : 0x80;
		hi = u[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return (0);
	if (u[1] < lo || u[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (u[i] < 0x80 || u[i] > 0xbf)
			return (0);
	}
	return (n);
}

/* Length of the character at s if it may be part of an unquoted value. */
static size_t
value_char_len(const char *s)
{
	unsigned char	c = (unsigned char)*s;

	if (c >= 0x80)
		return (utf8_len(s));
	return (c > 0x20 && c < 0x7f && c != ',' ? 1 : 0);
}

/* Value of a hexadecimal digit, or 16 for anything else. */
static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (16);
}

/* Read exactly n digits in base at s into *v; false if one is missing. */
static bool
read_digits(const char *s, int n, int base, unsigned long *v)
{
	int	d;

	*v = 0;
	for (; n > 0; n--, s++) {
		if ((d = digit_value(*s)) >= base)
			return (false);
		*v = *v * base + d;
	}
	return (true);
}

/* Write code point cp as UTF-8 at o; return the end. */
static char *
utf8_put(char *o, unsigned long cp)
{
	if (cp < 0x80)
		*o++ = (char)cp;
	else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*o++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return (o);
}

/* The byte a one-letter escape stands for, or 0 if c is not one. */
static char
simple_escape(char c, char quote)
{
	switch (c) {
	case 'a':
		return ('\a');
	case 'b':
		return ('\b');
	case 'f':
		return ('\f');
	case 'n':
		return ('\n');
	case 'r':
		return ('\r');
	case 't':
		return ('\t');
	case 'v':
		return ('\v');
	case '\\':
		return ('\\');
	}
	return (c == quote ? quote : '\0');
}

/* Check and store a numeric escape's value v; c is its letter or digit. */
static int
put_numeric(struct filter_parser *p, size_t at, char c, unsigned long v,
    char **o)
{
	if (v == 0) {
		return (parser_error(p, at,
		    "escape sequence gives a NUL byte"));
	}
	if (c >= '0' && c <= '7' && v > 0xff)
		return (parser_error(p, at, "octal escape above \\377"));
	if (c == 'x' || (c >= '0' && c <= '7')) {
		*(*o)++ = (char)v;
		return (0);
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return (parser_error(p, at, "invalid Unicode code point"));
	*o = utf8_put(*o, v);
	return (0);
}

/* Decode the escape at the backslash under p->pos into *o. */
static int
scan_escape(struct filter_parser *p, char quote, char **o)
{
	size_t		at = p->pos;
	char		c = p->s[at + 1], simple;
	int		ndigits, base = 16;
	unsigned long	v;

	if ((simple = simple_escape(c, quote)) != '\0') {
		*(*o)++ = simple;
		p->pos += 2;
		return (0);
	}
	if (c == 'x')
		ndigits = 2;
	else if (c == 'u')
		ndigits = 4;
	else if (c == 'U')
		ndigits = 8;
	else if (c >= '0' && c <= '7') {
		ndigits = 3;
		base = 8;
	} else
		return (parser_error(p, at, "invalid escape sequence"));
	/* An octal escape has no letter: its first digit follows the '\'. */
	p->pos += base == 8 ? 1 : 2;
	if (!read_digits(p->s + p->pos, ndigits, base, &v)) {
		return (parser_error(p, at, "escape sequence needs %d %s "
		    "digits", ndigits, base == 8 ? "octal" : "hexadecimal"));
	}
	p->pos += ndigits;
	return (put_numeric(p, at, c, v, o));
}

/* Decode the string quoted by the byte at p->pos; p->pos ends past it. */
static int
scan_quoted(struct filter_parser *p, char **out)
{
	size_t	 start = p->pos, n;
	char	 quote = p->s[p->pos++], c;
	char	*buf, *o;

	/* Decoding never makes text longer: the rest of s is room enough. */
	buf = o = xmalloc(strlen(p->s + p->pos) + 1);
	while ((c = p->s[p->pos]) != quote) {
		if (c == '\0' || c == '\n') {
			parser_error(p, start, "unterminated quoted string");
			goto fail;
		}
		if (c == '\\') {
			if (scan_escape(p, quote, &o) == -1)
				goto fail;
			continue;
		}
		n = (unsigned char)c >= 0x80 ? utf8_len(p->s + p->pos) : 1;
		if (n == 0) {
			parser_error(p, p->pos, "invalid UTF-8");
			goto fail;
		}
		memcpy(o, p->s + p->pos, n);
		o += n;
		p->pos += n;
	}
	p->pos++;
	*o = '\0';
	*out = buf;
	return (0);
fail:
	free(buf);
	return (-1);
}

/* Move past ASCII whitespace. */
static void
skip_space(struct filter_parser *p)
{
	while (is_space(p->s[p->pos]))
		p->pos++;
}

/* Parse one field (a name or a "quoted" one) onto the selector's path. */
static int
parse_field(struct filter_parser *p, struct filter_selector *sel)
{
	size_t	 start, n = 0;
	char	 c, *name;

	skip_space(p);
	start = p->pos;
	c = p->s[start];
	if (c == '/' || c == '|')
		return (parser_error(p, start, "a field is quoted with '\"'"));
	if (c == '"') {
		if (scan_quoted(p, &name) == -1)
			return (-1);
		if (*name == '\0') {
			free(name);
			return (parser_error(p, start, "empty field name"));
		}
	} else {
		while (is_field_char(p->s[start + n]))
			n++;
		if (n == 0)
			return (parser_error(p, start, "expected field name"));
		name = xstrndup(p->s + start, n);
		p->pos += n;
	}
	sel->path = xreallocarray(sel->path, sel->depth + 1,
	    sizeof *sel->path);
	sel->path[sel->depth++] = name;
	return (0);
}

/* Parse field ('.' field)*; no space is allowed before a '.'. */
static int
parse_fieldpath(struct filter_parser *p, struct filter_selector *sel)
{
	if (parse_field(p, sel) == -1)
		return (-1);
	while (p->s[p->pos] == '.') {
		p->pos++;
		if (parse_field(p, sel) == -1)
			return (-1);
	}
	return (0);
}

/* Parse ==, != or ~=; any other run of '=', '!' and '~' is refused. */
static int
parse_operator(struct filter_parser *p, struct filter_selector *sel)
{
	const char	*op;
	size_t		 n;

	skip_space(p);
	op = p->s + p->pos;
	n = strspn(op, "=!~");
	if (n == 0 && *op == '/') {
		/* The usual slip: labels.example.com/key without quotes. */
		return (parser_error(p, p->pos, "expected operator (==, != or "
		    "~=); a field with '/' must be quoted: \"...\""));
	}
	if (n == 0) {
		return (parser_error(p, p->pos,
		    "expected operator (==, != or ~=)"));
	}
	if (n == 2 && strncmp(op, "==", 2) == 0)
		sel->op = FILTER_OP_EQUAL;
	else if (n == 2 && strncmp(op, "!=", 2) == 0)
		sel->op = FILTER_OP_NOT_EQUAL;
	else if (n == 2 && strncmp(op, "~=", 2) == 0)
		sel->op = FILTER_OP_MATCH;
	else {
		return (parser_error(p, p->pos, "unknown operator \"%.*s\" "
		    "(expected ==, != or ~=)", (int)n, op));
	}
	p->pos += n;
	return (0);
}

/* Skip a POSIX class "[:name:]" at re[i]; return the index of its ']'. */
static size_t
regex_skip_posix_class(const char *re, size_t i)
{
	const char	*end;

	if ((end = strstr(re + i + 2, ":]")) == NULL)
		return (i);
	return ((size_t)(end - re) + 1);
}

/* Skip "\Q...\E" at re[i] (literal text); return the index of its 'E'. */
static size_t
regex_skip_quoted(const char *re, size_t i)
{
	const char	*end;

	if ((end = strstr(re + i + 2, "\\E")) == NULL)
		return (strlen(re) - 1);
	return ((size_t)(end - re) + 1);
}

/*
 * Why the escape at re[i] (a '\' outside a class) is outside Go's syntax,
 * or NULL.  \1 .. \9 are back-references unless they start an octal
 * escape (\12); \C (any byte) is RE2's alone.
 */
static const char *
regex_bad_escape(const char *re, size_t i)
{
	char	c = re[i + 1], next = c != '\0' ? re[i + 2] : '\0';

	if (c == '8' || c == '9' ||
	    (c >= '1' && c <= '7' && !(next >= '0' && next <= '7')))
		return ("back-references (\\1 .. \\9) are not in RE2 syntax");
	if (c == 'C')
		return ("\\C is not in RE2 (Go) syntax");
	return (NULL);
}

/* Why the group opening at re[i] is outside Go's syntax, or NULL. */
static const char *
regex_bad_group(const char *re, size_t i)
{
	if (strncmp(re + i, "(?=", 3) == 0 || strncmp(re + i, "(?!", 3) == 0 ||
	    strncmp(re + i, "(?<=", 4) == 0 || strncmp(re + i, "(?<!", 4) == 0)
		return ("lookaround ((?=, (?!, (?<=, (?<!) is not in RE2 "
		    "syntax");
	return (NULL);
}

/*
 * Find what RE2 refuses anyway but can say better with a column: a
 * back-reference, a lookaround, \C.  Return the reason and set *off to
 * its offset in re, or return NULL.  Classes ([...]) and \Q...\E are
 * skipped: "[(?=]" and "\Q\1\E" are literal text.
 */
static const char *
regex_unsupported(const char *re, size_t *off)
{
	const char	*why = NULL;
	size_t		 i;
	bool		 in_class = false;

	for (i = 0; re[i] != '\0'; i++) {
		if (re[i] == '\\' && re[i + 1] == 'Q')
			i = regex_skip_quoted(re, i);
		else if (re[i] == '\\') {
			why = in_class ? NULL : regex_bad_escape(re, i);
			if (why != NULL)
				break;
			if (re[i + 1] != '\0')
				i++;
		} else if (in_class && re[i] == '[' && re[i + 1] == ':')
			i = regex_skip_posix_class(re, i);
		else if (in_class)
			in_class = re[i] != ']';
		else if (re[i] == '[') {
			in_class = true;
			/* A ']' first in a class is literal: "[]a]". */
			i += re[i + 1] == '^';
			i += re[i + 1] == ']';
		} else if (re[i] == '(') {
			if ((why = regex_bad_group(re, i)) != NULL)
				break;
		}
	}
	*off = i;
	return (why);
}

/*
 * Compile the selector's value as a regular expression, once per request.
 * at is the value's column; base, when not -1, is where its text starts
 * in the filter string byte for byte (unquoted, or quoted without
 * escapes), so an error found inside it can name its own column.
 */
static int
compile_regex(struct filter_parser *p, size_t at, long base,
    struct filter_selector *sel)
{
	const char	*why;
	char		*msg = NULL;
	size_t		 len = strlen(sel->value), off;

	if (len > FILTER_REGEX_MAX)
		return (parser_error(p, at, "invalid regular expression: %zu "
		    "bytes, more than %d", len, FILTER_REGEX_MAX));
	if (++*p->nregex > FILTER_REGEX_COUNT)
		return (parser_error(p, at, "more than %d regular expressions "
		    "in one request", FILTER_REGEX_COUNT));
	if ((why = regex_unsupported(sel->value, &off)) != NULL)
		return (parser_error(p, base != -1 ? (size_t)base + off : at,
		    "invalid regular expression: %s", why));
	if ((sel->re = rx_compile(sel->value, &msg)) == NULL) {
		parser_error(p, at, "invalid regular expression: %s", msg);
		free(msg);
		return (-1);
	}
	if (rx_size(sel->re) > FILTER_REGEX_PROG)
		return (parser_error(p, at, "invalid regular expression: it "
		    "compiles to %zu instructions, more than %d; use smaller "
		    "repetition counts", rx_size(sel->re), FILTER_REGEX_PROG));
	return (0);
}

/* Parse the value after an operator: quoted, /regex/ or unquoted. */
static int
parse_value(struct filter_parser *p, struct filter_selector *sel)
{
	size_t	start, n, len = 0;
	long	base = -1;
	char	c;

	skip_space(p);
	start = p->pos;
	c = p->s[start];
	if ((c == '/' || c == '|') && sel->op != FILTER_OP_MATCH) {
		return (parser_error(p, start, "only a ~= value may be quoted "
		    "with '%c'", c));
	}
	if (c == '"' || c == '/' || c == '|') {
		if (scan_quoted(p, &sel->value) == -1)
			return (-1);
		if (p->pos - start - 2 == strlen(sel->value))
			base = (long)start + 1;	/* no escape in it */
	} else {
		if (c == '.' || is_op_char(c))
			return (parser_error(p, start, "expected value"));
		while ((n = value_char_len(p->s + start + len)) != 0)
			len += n;
		if (len == 0)
			return (parser_error(p, start, "expected value"));
		sel->value = xstrndup(p->s + start, len);
		p->pos += len;
		base = (long)start;
	}
	if (sel->op == FILTER_OP_MATCH)
		return (compile_regex(p, start, base, sel));
	return (0);
}

/* Parse fieldpath [op value] into a new selector at the clause's tail. */
static int
parse_selector(struct filter_parser *p, struct filter_clause *clause)
{
	struct filter_selector	*sel;
	char			 c;

	sel = xcalloc(1, sizeof *sel);
	TAILQ_INSERT_TAIL(&clause->selectors, sel, entry);
	if (parse_fieldpath(p, sel) == -1)
		return (-1);
	c = p->s[p->pos];
	if (c == ',' || c == '\0') {
		sel->op = FILTER_OP_PRESENT;
		return (0);
	}
	if (parse_operator(p, sel) == -1)
		return (-1);
	return (parse_value(p, sel));
}

/* Refuse the byte at p->pos, which should have been ',' or the end. */
static int
parse_unexpected(struct filter_parser *p)
{
	unsigned char	c = (unsigned char)p->s[p->pos];

	if (c >= 0x20 && c < 0x7f) {
		return (parser_error(p, p->pos, "unexpected character '%c'",
		    c));
	}
	return (parser_error(p, p->pos, "unexpected byte 0x%02x", c));
}

/* Parse selector (',' selector)*; "" is an empty clause, true for all. */
static int
parse_clause(struct filter_parser *p, struct filter_clause *clause)
{
	if (p->s[0] == '\0')
		return (0);
	for (;;) {
		if (parse_selector(p, clause) == -1)
			return (-1);
		if (p->s[p->pos] == '\0')
			return (0);
		if (p->s[p->pos] != ',')
			return (parse_unexpected(p));
		p->pos++;
	}
}

/* Add an empty clause to the filter. */
static struct filter_clause *
clause_add(struct filter *f)
{
	struct filter_clause	*clause;

	clause = xcalloc(1, sizeof *clause);
	TAILQ_INIT(&clause->selectors);
	TAILQ_INSERT_TAIL(&f->clauses, clause, entry);
	return (clause);
}

/* Copy s for a message: valid UTF-8 kept, '"' and '\' escaped, else \x. */
static char *
escape_text(const char *s)
{
	char	*buf, *o;
	size_t	 n;

	buf = o = xmalloc(strlen(s) * 4 + 1);
	while (*s != '\0') {
		n = (unsigned char)*s >= 0x80 ? utf8_len(s) : 0;
		if (n != 0) {
			memcpy(o, s, n);
			o += n;
			s += n;
			continue;
		}
		if (*s == '"' || *s == '\\') {
			*o++ = '\\';
			*o++ = *s;
		} else if (*s >= 0x20 && *s < 0x7f)
			*o++ = *s;
		else
			o += sprintf(o, "\\x%02x", (unsigned char)*s);
		s++;
	}
	*o = '\0';
	return (buf);
}

/* Set *cause for filter i (0-based) from the parser's error. */
static void
set_cause(char **cause, size_t i, const char *s, struct filter_parser *p)
{
	char	*text;

	if (cause == NULL)
		return;
	text = escape_text(s);
	xasprintf(cause, "filter %zu \"%s\": column %zu: %s", i + 1, text,
	    p->errpos + 1, p->error);
	free(text);
}

/* Compile n filter strings; see filter.h. */
struct filter *
filter_parse(const char *const *strings, size_t n, char **cause)
{
	struct filter		*f;
	struct filter_parser	 p;
	size_t			 i, nregex = 0;

	f = xcalloc(1, sizeof *f);
	TAILQ_INIT(&f->clauses);
	if (n == 0)
		clause_add(f);
	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof p);
		p.s = strings[i] != NULL ? strings[i] : "";
		p.nregex = &nregex;
		if (parse_clause(&p, clause_add(f)) == -1) {
			set_cause(cause, i, p.s, &p);
			free(p.error);
			filter_free(f);
			return (NULL);
		}
	}
	return (f);
}

/*
 * Run a selector's expression on value, within the filter's work budget:
 * a match costs at most (length + 1) x program size steps, so refuse to
 * start one that could pass FILTER_REGEX_WORK, and say no.
 */
static bool
regex_match(struct filter *f, const struct filter_selector *sel,
    const char *value)
{
	size_t	len = strlen(value), cost;

	cost = (len + 1) * rx_size(sel->re);
	if (f->exhausted || cost > FILTER_REGEX_WORK - f->work) {
		f->exhausted = true;
		return (false);
	}
	f->work += cost;
	return (rx_match(sel->re, value, len));
}

/* Whether one selector holds for the record behind lookup. */
static bool
selector_match(struct filter *f, const struct filter_selector *sel,
    filter_lookup_fn lookup, void *arg)
{
	const char	*value = NULL;
	bool		 present;

	present = lookup((const char *const *)sel->path, sel->depth, &value,
	    arg);
	if (!present || value == NULL)
		value = "";
	switch (sel->op) {
	case FILTER_OP_PRESENT:
		return (present);
	case FILTER_OP_EQUAL:
		return (present && strcmp(value, sel->value) == 0);
	case FILTER_OP_NOT_EQUAL:
		return (!present || strcmp(value, sel->value) != 0);
	case FILTER_OP_MATCH:
		return (regex_match(f, sel, value));
	}
	return (false);
}

/* Whether every selector of a clause holds (true for an empty clause). */
static bool
clause_match(struct filter *f, const struct filter_clause *clause,
    filter_lookup_fn lookup, void *arg)
{
	const struct filter_selector	*sel;

	TAILQ_FOREACH(sel, &clause->selectors, entry) {
		if (!selector_match(f, sel, lookup, arg))
			return (false);
	}
	return (true);
}

/* Whether any clause of the filter holds for the record; see filter.h. */
bool
filter_match(struct filter *f, filter_lookup_fn lookup, void *arg)
{
	const struct filter_clause	*clause;
	bool				 matched;

	TAILQ_FOREACH(clause, &f->clauses, entry) {
		matched = clause_match(f, clause, lookup, arg);
		if (f->exhausted)
			return (false);
		if (matched)
			return (true);
	}
	return (false);
}

/* Whether matching stopped at the work budget: the answer is incomplete. */
bool
filter_exhausted(const struct filter *f)
{
	return (f->exhausted);
}

/* Free a selector, whole or half-parsed. */
static void
selector_free(struct filter_selector *sel)
{
	size_t	i;

	for (i = 0; i < sel->depth; i++)
		free(sel->path[i]);
	free(sel->path);
	free(sel->value);
	rx_free(sel->re);
	free(sel);
}

/* Free a filter and everything in it; NULL is allowed. */
void
filter_free(struct filter *f)
{
	struct filter_clause	*clause;
	struct filter_selector	*sel;

	if (f == NULL)
		return;
	while ((clause = TAILQ_FIRST(&f->clauses)) != NULL) {
		TAILQ_REMOVE(&f->clauses, clause, entry);
		while ((sel = TAILQ_FIRST(&clause->selectors)) != NULL) {
			TAILQ_REMOVE(&clause->selectors, sel, entry);
			selector_free(sel);
		}
		free(clause);
	}
	free(f);
}
