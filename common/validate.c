/*
 * validate.c: identifier and label checks.
 *
 * An identifier (sandbox id, namespace) is 1 to 76 characters of
 * [A-Za-z0-9]+ runs joined by single '.', '_' or '-'.  Checked in
 * containerd's order: empty, too long, pattern.
 */
#include <string.h>

#include "containerd/types/sandbox.pb.h"
#include "protocol.h"
#include "validate.h"
#include "xmalloc.h"

/* A too-long id must decode, so that its error can name it (.options). */
_Static_assert(IDENT_MAX_LEN < sizeof(((ct_Sandbox *)0)->sandbox_id) - 1,
    "Sandbox.sandbox_id max_size does not exceed IDENT_MAX_LEN");

static bool
is_alnum(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'));
}

static bool
is_separator(char c)
{
	return (c == '.' || c == '_' || c == '-');
}

/* Whether s matches ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$. */
static bool
identifier_matches(const char *s)
{
	bool	after_alnum = false;

	for (; *s != '\0'; s++) {
		if (is_alnum(*s))
			after_alnum = true;
		else if (is_separator(*s) && after_alnum)
			after_alnum = false;
		else
			return (false);
	}
	return (after_alnum);
}

/*
 * Check an identifier; what names it in messages ("sandbox id",
 * "namespace").  0 if valid; else -1 and *cause says why.
 */
int
validate_identifier(const char *what, const char *id, char **cause)
{
	size_t	len = id != NULL ? strlen(id) : 0;

	if (len == 0) {
		xasprintf(cause, "%s: identifier must not be empty", what);
		return (-1);
	}
	if (len > IDENT_MAX_LEN) {
		xasprintf(cause, "%s \"%.*s...\": identifier is longer than %d "
		    "characters", what, 16, id, IDENT_MAX_LEN);
		return (-1);
	}
	if (!identifier_matches(id)) {
		xasprintf(cause, "%s \"%s\": identifier must match "
		    "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$", what, id);
		return (-1);
	}
	return (0);
}

/* Check one label: a non-empty key, key and value at most 4096 bytes. */
int
validate_label(const char *key, const char *value, char **cause)
{
	size_t	klen = key != NULL ? strlen(key) : 0;
	size_t	vlen = value != NULL ? strlen(value) : 0;

	if (klen == 0) {
		xasprintf(cause, "label key must not be empty");
		return (-1);
	}
	if (klen + vlen > LABEL_MAX_SIZE) {
		xasprintf(cause, "label key and value of \"%.*s%s\" are %zu "
		    "bytes, more than %d", 32, key, klen > 32 ? "..." : "",
		    klen + vlen, LABEL_MAX_SIZE);
		return (-1);
	}
	return (0);
}
