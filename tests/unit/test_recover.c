/*
 * test_recover.c: what recovery reads of a stored instance record.
 * recover.c decodes each record as sandboxd.v1.InstanceHead, the fields
 * it needs under sandboxd.v1.Instance's numbers; these tests encode whole
 * records with every field inst_encode fills (sandbox copy and pod config
 * included) and check that the head reads every field recovery restores,
 * skips the rest, and refuses what a set-aside record would be.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "controller.h"
#include "pbutil.h"
#include "sandboxd/v1/instance_head.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

/* A sandbox copy with a runtime and labels, as a Create would store. */
static void
fill_sandbox(ct_Sandbox *sb)
{
	static char	k0[] = "app", v0[] = "web", k1[] = "tier", v1[] = "front";

	strcpy(sb->sandbox_id, "web-1");
	sb->has_runtime = true;
	strcpy(sb->runtime.name, "io.sandboxd.exec.v1");
	sb->labels_count = 2;
	sb->labels[0].key = k0;
	sb->labels[0].value = v0;
	sb->labels[1].key = k1;
	sb->labels[1].value = v1;
}

/* A stopping, re-adopted instance's record, every field set. */
static sv_Instance *
full_record(void)
{
	sv_Instance	*rec;

	rec = calloc(1, sizeof(*rec));
	cr_assert_not_null(rec);
	rec->state = SB_STATE_STOPPING;
	rec->pid = 4242;
	rec->start_time = 1234567890123ULL;
	rec->netns_path = strdup("/run/sandboxd/netns/default-web-1");
	rec->netns_owned = true;
	rec->owner_bundle = strdup("/run/containerd/io.containerd.runtime.v2."
	    "task/k8s.io/web-1");
	rec->bundle_dir = strdup("/var/lib/sandboxd/sandboxes/default/web-1");
	rec->has_created_at = true;
	rec->created_at.seconds = 1700000000;
	rec->created_at.nanos = 5;
	rec->has_started_at = true;
	rec->started_at.seconds = 1700000001;
	rec->started_at.nanos = 6;
	rec->adopted = true;
	rec->stop_deadline = 1700000100;
	fill_sandbox(&rec->sandbox);
	rec->has_sandbox = true;
	return (rec);
}

/* Free what full_record allocated. */
static void
free_record(sv_Instance *rec)
{
	free(rec->netns_path);
	free(rec->owner_bundle);
	free(rec->bundle_dir);
	free(rec);
}

/* Encode rec as the daemon stores it. */
static uint8_t *
encode(const sv_Instance *rec, size_t *len)
{
	uint8_t	*buf = NULL;
	char	*cause = NULL;

	cr_assert(msg_encode(sv_Instance_fields, rec, &buf, len, &cause),
	    "%s", cause);
	return (buf);
}

Test(recover, head_reads_what_recovery_restores)
{
	sv_Instance	*rec = full_record();
	sv_InstanceHead	 head;
	static const char pod[] = "\x0a\x05hello pod config bytes";
	uint8_t		*buf;
	size_t		 len = 0;
	char		*cause = NULL;

	rec->pod_config.data = (const pb_byte_t *)pod;
	rec->pod_config.len = sizeof(pod) - 1;
	buf = encode(rec, &len);
	memset(&head, 0xa5, sizeof(head));	/* the decoder must set it all */
	cr_assert(msg_decode(sv_InstanceHead_fields, &head, buf, len, &cause),
	    "%s", cause);
	cr_assert_eq(head.state, SB_STATE_STOPPING);
	cr_assert_eq(head.pid, 4242);
	cr_assert_eq(head.start_time, 1234567890123ULL);
	cr_assert_str_eq(head.netns_path, rec->netns_path);
	cr_assert(head.netns_owned);
	cr_assert_eq(head.exit_status, 0);
	cr_assert_eq(head.created_at.seconds, 1700000000);
	cr_assert_eq(head.created_at.nanos, 5);
	cr_assert_eq(head.started_at.seconds, 1700000001);
	cr_assert_eq(head.started_at.nanos, 6);
	cr_assert_eq(head.exited_at.seconds, 0);
	cr_assert(head.adopted);
	cr_assert_eq(head.stop_deadline, 1700000100);
	cr_assert_str_eq(head.owner_bundle, rec->owner_bundle);
	free(buf);
	free_record(rec);
}

/* A stopped instance without a netns or bundle: empty strings, exit kept. */
Test(recover, head_of_a_stopped_record)
{
	sv_Instance	*rec = full_record();
	sv_InstanceHead	 head;
	uint8_t		*buf;
	size_t		 len = 0;
	char		*cause = NULL;

	free(rec->netns_path);
	free(rec->owner_bundle);
	rec->netns_path = rec->owner_bundle = NULL;
	rec->state = SB_STATE_STOPPED;
	rec->exit_status = 137;
	rec->has_exited_at = true;
	rec->exited_at.seconds = 1700000200;
	buf = encode(rec, &len);
	cr_assert(msg_decode(sv_InstanceHead_fields, &head, buf, len, &cause),
	    "%s", cause);
	cr_assert_eq(head.state, SB_STATE_STOPPED);
	cr_assert_eq(head.exit_status, 137);
	cr_assert_eq(head.exited_at.seconds, 1700000200);
	cr_assert_str_eq(head.netns_path, "");
	cr_assert_str_eq(head.owner_bundle, "");
	free(buf);
	free_record(rec);
}

/*
 * What recovery sets aside: bytes that are no record, a record cut short,
 * a path beyond the head's bound (PATH_MAX).
 */
Test(recover, head_refuses_bad_records)
{
	sv_Instance	*rec = full_record();
	sv_InstanceHead	 head;
	uint8_t		*buf;
	size_t		 len = 0;
	char		*cause = NULL;

	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, "garbage!", 8,
	    &cause));
	free(cause);
	cause = NULL;
	buf = encode(rec, &len);
	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, buf, len - 3,
	    &cause), "a record cut short was read");
	free(cause);
	cause = NULL;
	free(buf);
	free(rec->netns_path);
	rec->netns_path = malloc(5000);
	cr_assert_not_null(rec->netns_path);
	memset(rec->netns_path, 'p', 4999);
	rec->netns_path[4999] = '\0';
	buf = encode(rec, &len);
	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, buf, len,
	    &cause), "a 4999-byte netns path was read");
	free(cause);
	free(buf);
	free_record(rec);
}
