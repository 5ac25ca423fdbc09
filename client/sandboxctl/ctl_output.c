/*
 * ctl_output.c: what sandboxctl prints.  Errors go to stderr as
 * "sandboxctl: CMD [ID]: KIND: REASON"; results go to stdout as a record
 * or table, or as JSON with --output json.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "xmalloc.h"

/* --- errors ------------------------------------------------------------- */

/*
 * Print an error for the current command and return its exit code; the
 * error is cleared, as every caller is done with it then.
 */
int
out_fail(const struct ctx *x, const char *id, struct sbc_error *err)
{
	const char	*msg = err->message != NULL ? err->message : "";
	int		 r = sbc_exit_code(err->code);

	if (id != NULL)
		fprintf(stderr, "sandboxctl: %s %s: %s: %s\n", x->cmd, id,
		    sbc_error_name(err->code), msg);
	else
		fprintf(stderr, "sandboxctl: %s: %s: %s\n", x->cmd,
		    sbc_error_name(err->code), msg);
	sbc_error_clear(err);
	return (r);
}

/* Print a local error (bad file, bad argument) and return exit code. */
int
out_fail_local(const struct ctx *x, int code, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "sandboxctl: %s: ", x->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (code);
}

/* --- JSON ----------------------------------------------------------------- */

/* Base64 (standard alphabet, padded) of len bytes. */
static char *
base64(const uint8_t *p, size_t len)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*out, *o;
	size_t			 i;
	uint32_t		 v;

	out = o = xmalloc(4 * ((len + 2) / 3) + 1);
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		*o++ = tab[(v >> 18) & 63];
		*o++ = tab[(v >> 12) & 63];
		*o++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*o = '\0';
	return (out);
}

/* A timestamp as a JSON string, null when zero. */
static json_t *
to_json_ts(const struct timespec *ts)
{
	char	buf[64];

	if (ts->tv_sec == 0 && ts->tv_nsec == 0)
		return (json_null());
	sbc_ts_format(ts, buf, sizeof buf);
	return (json_string(buf));
}

/* An Any: its value inline when it is a JSON document, else base64. */
static json_t *
to_json_any(const struct sbc_any *a)
{
	json_t	*o, *v;
	char	*b64;

	if (a->type_url == NULL)
		return (json_null());
	o = json_pack("{s:s}", "type_url", a->type_url);
	v = a->len > 0 ? json_loadb(a->value, a->len, 0, NULL) : NULL;
	if (v != NULL)
		json_object_set_new(o, "json", v);
	else {
		b64 = base64(a->value, a->len);
		json_object_set_new(o, "base64", json_string(b64));
		free(b64);
	}
	return (o);
}

/* Labels as a JSON object. */
static json_t *
to_json_labels(const struct sbc_label *l, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, l[i].key, json_string(l[i].value));
	return (o);
}

/* A sandbox's metadata as JSON. */
static json_t *
to_json_meta(const struct sbc_meta *m)
{
	json_t	*o, *exts;
	size_t	 i;

	exts = json_object();
	for (i = 0; i < m->nextensions; i++)
		json_object_set_new(exts, m->extensions[i].name,
		    to_json_any(&m->extensions[i].value));
	o = json_pack("{s:s, s:{s:s, s:o}, s:o, s:o, s:o, s:o, s:o, s:s}",
	    "id", m->id,
	    "runtime", "name", m->runtime, "options",
	    to_json_any(&m->runtime_options),
	    "spec", to_json_any(&m->spec),
	    "labels", to_json_labels(m->labels, m->nlabels),
	    "created_at", to_json_ts(&m->created_at),
	    "updated_at", to_json_ts(&m->updated_at),
	    "extensions", exts,
	    "sandboxer", m->sandboxer);
	return (o);
}

/* Print a JSON value and free it. */
int
out_json_print(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(v);
	return (0);
}

/* --- records and tables ------------------------------------------------- */

/* Labels as "k=v,k=v" in an allocated string. */
static char *
labels_text(const struct sbc_label *l, size_t n)
{
	char	*s = xstrdup(""), *t;
	size_t	 i;

	for (i = 0; i < n; i++) {
		xasprintf(&t, "%s%s%s=%s", s, i > 0 ? "," : "", l[i].key,
		    l[i].value);
		free(s);
		s = t;
	}
	return (s);
}

/* Print a name/value line of a record. */
static void
row(const char *name, const char *value)
{
	printf("%-12s %s\n", name, value);
}

/* Print a time row ("-" when zero). */
static void
row_ts(const char *name, const struct timespec *ts)
{
	char	buf[64];

	sbc_ts_format(ts, buf, sizeof buf);
	row(name, buf[0] != '\0' ? buf : "-");
}

/* Print an Any row: type URL and size. */
static void
row_any(const char *name, const struct sbc_any *a)
{
	char	buf[1024];

	if (a->type_url == NULL) {
		row(name, "-");
		return;
	}
	snprintf(buf, sizeof buf, "%s (%zu bytes)", a->type_url, a->len);
	row(name, buf);
}

/* Print a sandbox's metadata as a record. */
static void
print_meta_record(const struct sbc_meta *m)
{
	char	*labels, buf[1024];
	size_t	 i;

	row("ID", m->id);
	row("RUNTIME", m->runtime[0] != '\0' ? m->runtime : "-");
	row_any("OPTIONS", &m->runtime_options);
	row("SANDBOXER", m->sandboxer[0] != '\0' ? m->sandboxer : "-");
	row_ts("CREATED", &m->created_at);
	row_ts("UPDATED", &m->updated_at);
	labels = labels_text(m->labels, m->nlabels);
	row("LABELS", labels[0] != '\0' ? labels : "-");
	free(labels);
	row_any("SPEC", &m->spec);
	for (i = 0; i < m->nextensions; i++) {
		snprintf(buf, sizeof buf, "EXT %s", m->extensions[i].name);
		row_any(buf, &m->extensions[i].value);
	}
}

/* Print a list as a table (or only ids when quiet). */
static void
print_list_table(const struct sbc_meta *list, size_t n, bool quiet)
{
	char	created[64], *labels;
	int	w = 2;
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((int)strlen(list[i].id) > w)
			w = (int)strlen(list[i].id);
	}
	if (!quiet)
		printf("%-*s  %-24s  %-30s  %s\n", w, "ID", "RUNTIME",
		    "CREATED", "LABELS");
	for (i = 0; i < n; i++) {
		if (quiet) {
			printf("%s\n", list[i].id);
			continue;
		}
		sbc_ts_format(&list[i].created_at, created, sizeof created);
		labels = labels_text(list[i].labels, list[i].nlabels);
		printf("%-*s  %-24s  %-30s  %s\n", w, list[i].id,
		    list[i].runtime[0] != '\0' ? list[i].runtime : "-",
		    created, labels);
		free(labels);
	}
}

/* --- one result per command ------------------------------------------- */

/* Print metadata the daemon returned, as JSON or a record, and free it. */
void
out_meta(const struct ctx *x, struct sbc_meta *m)
{
	if (x->json)
		out_json_print(to_json_meta(m));
	else
		print_meta_record(m);
	sbc_meta_free(m);
}

/* Print a list as a JSON array or a table (only ids when quiet). */
void
out_list(const struct ctx *x, const struct sbc_meta *list, size_t n,
    bool quiet)
{
	json_t	*arr;
	size_t	 i;

	if (!x->json) {
		print_list_table(list, n, quiet);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, to_json_meta(&list[i]));
	out_json_print(arr);
}

/* Print what start answered: the pid (and its time in JSON). */
void
out_start(const struct ctx *x, const char *id,
    const struct sbc_start_info *si)
{
	if (x->json)
		out_json_print(json_pack("{s:s, s:I, s:o}", "id", id, "pid",
		    (json_int_t)si->pid, "created_at",
		    to_json_ts(&si->created_at)));
	else
		printf("%u\n", si->pid);
}

/* Print what wait answered: the exit status (and its time in JSON). */
void
out_wait(const struct ctx *x, const char *id, uint32_t status,
    const struct timespec *at)
{
	if (x->json)
		out_json_print(json_pack("{s:s, s:I, s:o}", "id", id,
		    "exit_status", (json_int_t)status, "exited_at",
		    to_json_ts(at)));
	else
		printf("%u\n", status);
}

/* Print a status as a record or JSON. */
void
out_status(const struct ctx *x, const struct sbc_status *st)
{
	char	pid[16];
	size_t	i;

	if (x->json) {
		out_json_print(json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:s, "
		    "s:I}", "id", st->id, "pid", (json_int_t)st->pid, "state",
		    st->state, "created_at", to_json_ts(&st->created_at),
		    "exited_at", to_json_ts(&st->exited_at), "info",
		    to_json_labels(st->info, st->ninfo), "address",
		    st->address, "version", (json_int_t)st->version));
		return;
	}
	snprintf(pid, sizeof pid, "%u", st->pid);
	row("ID", st->id);
	row("STATE", st->state);
	row("PID", pid);
	row_ts("CREATED", &st->created_at);
	row_ts("EXITED", &st->exited_at);
	for (i = 0; i < st->ninfo; i++)
		printf("  %-20s %s\n", st->info[i].key, st->info[i].value);
}

/* Metrics as JSON, with sandboxd's stats when the daemon sent them. */
static json_t *
to_json_metrics(const struct sbc_metrics *m)
{
	json_t	*o;

	o = json_pack("{s:s, s:o, s:o}", "id", m->id, "timestamp",
	    to_json_ts(&m->timestamp), "data", to_json_any(&m->data));
	if (m->has_stats)
		json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:I, "
		    "s:I}", "cpu_usage_ns", (json_int_t)m->cpu_usage_ns,
		    "cpu_user_ns", (json_int_t)m->cpu_user_ns,
		    "cpu_system_ns", (json_int_t)m->cpu_system_ns,
		    "rss_bytes", (json_int_t)m->rss_bytes, "pids",
		    (json_int_t)m->pids));
	return (o);
}

/* Print metrics as a record or JSON. */
void
out_metrics(const struct ctx *x, const struct sbc_metrics *m)
{
	char	 buf[64];

	if (x->json) {
		out_json_print(to_json_metrics(m));
		return;
	}
	row("ID", m->id);
	row_ts("TIMESTAMP", &m->timestamp);
	if (!m->has_stats) {
		row_any("DATA", &m->data);
		return;
	}
	snprintf(buf, sizeof buf, "%.3f s (user %.3f s, system %.3f s)",
	    m->cpu_usage_ns / 1e9, m->cpu_user_ns / 1e9,
	    m->cpu_system_ns / 1e9);
	row("CPU", buf);
	snprintf(buf, sizeof buf, "%llu bytes", (unsigned long long)
	    m->rss_bytes);
	row("RSS", buf);
	snprintf(buf, sizeof buf, "%u", m->pids);
	row("PIDS", buf);
}

/* Print a platform as a one-line table or JSON. */
void
out_platform(const struct ctx *x, const struct sbc_platform *p)
{
	if (x->json) {
		out_json_print(json_pack("{s:s, s:s, s:s, s:s}", "os", p->os,
		    "architecture", p->architecture, "variant", p->variant,
		    "os_version", p->os_version));
		return;
	}
	printf("%-8s %-14s %s\n", "OS", "ARCHITECTURE", "VARIANT");
	printf("%-8s %-14s %s\n", p->os, p->architecture, p->variant);
}

/* Print what run made: the sandbox's id and its init's pid. */
void
out_run(const struct ctx *x, const char *id, uint32_t pid)
{
	if (x->json)
		out_json_print(json_pack("{s:s, s:I}", "id", id, "pid",
		    (json_int_t)pid));
	else
		printf("%s %u\n", id, pid);
}

/* How long ago ts was, as "12s", "5m", "3h" or "2d" ("-": never). */
static void
age_text(const struct timespec *ts, char *buf, size_t len)
{
	time_t	d;

	if (ts->tv_sec == 0) {
		snprintf(buf, len, "-");
		return;
	}
	d = time(NULL) - ts->tv_sec;
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%llds", (long long)d);
	else if (d < 7200)
		snprintf(buf, len, "%lldm", (long long)d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%lldh", (long long)d / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)d / 86400);
}

/* One instance as a JSON object. */
static json_t *
to_json_instance(const struct sbc_instance *in)
{
	json_t	*o;

	o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:b, s:o, s:o}",
	    "namespace", in->ns, "id", in->id, "state", in->state,
	    "pid", (json_int_t)in->pid, "runtime", in->runtime,
	    "store_record", in->store_record,
	    "created_at", to_json_ts(&in->created_at),
	    "started_at", to_json_ts(&in->started_at));
	if (in->exited) {
		json_object_set_new(o, "exit_status",
		    json_integer(in->exit_status));
		json_object_set_new(o, "exited_at", to_json_ts(&in->exited_at));
	}
	json_object_set_new(o, "netns_path", *in->netns_path != '\0' ?
	    json_string(in->netns_path) : json_null());
	json_object_set_new(o, "containerd_bundle", *in->owner_bundle != '\0' ?
	    json_string(in->owner_bundle) : json_null());
	return (o);
}

/* ps: a table, widest namespace and id first, or a JSON array. */
void
out_instances(const struct ctx *x, const struct sbc_instance *v, size_t n)
{
	json_t	*arr;
	char	 age[32], pid[16];
	int	 wns = 9, wid = 2;
	size_t	 i;

	if (x->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, to_json_instance(&v[i]));
		out_json_print(arr);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((int)strlen(v[i].ns) > wns)
			wns = (int)strlen(v[i].ns);
		if ((int)strlen(v[i].id) > wid)
			wid = (int)strlen(v[i].id);
	}
	printf("%-*s  %-*s  %-8s  %-8s  %-22s  %-5s  %s\n", wns, "NAMESPACE",
	    wid, "ID", "STATE", "PID", "RUNTIME", "AGE", "STORE");
	for (i = 0; i < n; i++) {
		age_text(&v[i].created_at, age, sizeof age);
		snprintf(pid, sizeof pid, "%u", v[i].pid);
		printf("%-*s  %-*s  %-8s  %-8s  %-22s  %-5s  %s\n", wns, v[i].ns,
		    wid, v[i].id, v[i].state, v[i].pid != 0 ? pid : "-",
		    v[i].runtime, age, v[i].store_record ? "yes" : "no");
	}
}
