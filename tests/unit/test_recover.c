/*
 * test_recover.c: what recovery reads of a stored instance record.
 * recover.c decodes each record as sandboxd.v1.InstanceHead, the fields
 * it needs under sandboxd.v1.Instance's numbers; these tests encode whole
 * records the way the daemon stores them (inst_encode) and check that the
 * head reads every field recovery restores, skips the rest, and refuses
 * what a set-aside record would be.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "instance.h"
#include "pbutil.h"
#include "sandboxd/v1/instance_head.pb.h"
#include "sandboxd/v1/sandboxd.pb.h"

/* A running, re-adopted instance with every field recovery restores. */
static struct instance *
full_instance(void)
{
	struct instance	*inst;

	inst = calloc(1, sizeof(*inst) + 8);
	cr_assert_not_null(inst);
	strcpy(inst->id, "web-1");
	inst->state = SB_STATE_STOPPING;
	inst->pid = 4242;
	inst->start_time = 1234567890123ULL;
	inst->netns_path = strdup("/run/sandboxd/netns/default-web-1");
	inst->netns_owned = true;
	inst->owner_bundle = strdup("/run/containerd/io.containerd.runtime.v2."
	    "task/k8s.io/web-1");
	inst->created_at.seconds = 1700000000;
	inst->created_at.nanos = 5;
	inst->started_at.seconds = 1700000001;
	inst->started_at.nanos = 6;
	inst->adopted = true;
	inst->stop_deadline = 1700000100;
	return (inst);
}

/* A sandbox copy with labels and a spec, as a Create would store. */
static void
fill_sandbox(ct_Sandbox *sb)
{
	static char	k0[] = "app", v0[] = "web", k1[] = "tier", v1[] = "front";

	memset(sb, 0, sizeof(*sb));
	strcpy(sb->sandbox_id, "web-1");
	sb->has_runtime = true;
	strcpy(sb->runtime.name, "io.sandboxd.exec.v1");
	sb->labels_count = 2;
	sb->labels[0].key = k0;
	sb->labels[0].value = v0;
	sb->labels[1].key = k1;
	sb->labels[1].value = v1;
}

Test(recover, head_reads_what_recovery_restores)
{
	struct instance	*inst = full_instance();
	ct_Sandbox	*sb = calloc(1, sizeof(*sb));
	sv_InstanceHead	 head;
	static const char pod[] = "\x0a\x05hello pod config bytes";
	struct pb_view	 pv = { (const pb_byte_t *)pod, sizeof(pod) - 1 };
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*cause = NULL;

	cr_assert_not_null(sb);
	fill_sandbox(sb);
	cr_assert_eq(inst_encode(inst, sb, pv, &buf, &len, &cause), 0, "%s",
	    cause);
	memset(&head, 0xa5, sizeof(head));	/* the decoder must set it all */
	cr_assert(msg_decode(sv_InstanceHead_fields, &head, buf, len, &cause),
	    "%s", cause);
	cr_assert_eq(head.state, SB_STATE_STOPPING);
	cr_assert_eq(head.pid, 4242);
	cr_assert_eq(head.start_time, 1234567890123ULL);
	cr_assert_str_eq(head.netns_path, inst->netns_path);
	cr_assert(head.netns_owned);
	cr_assert_eq(head.exit_status, 0);
	cr_assert_eq(head.created_at.seconds, 1700000000);
	cr_assert_eq(head.created_at.nanos, 5);
	cr_assert_eq(head.started_at.seconds, 1700000001);
	cr_assert_eq(head.started_at.nanos, 6);
	cr_assert_eq(head.exited_at.seconds, 0);
	cr_assert(head.adopted);
	cr_assert_eq(head.stop_deadline, 1700000100);
	cr_assert_str_eq(head.owner_bundle, inst->owner_bundle);
	free(buf);
	free(sb);
	free(inst->netns_path);
	free(inst->owner_bundle);
	free(inst);
}

/* A stopped instance without a netns or bundle: empty strings, exit kept. */
Test(recover, head_of_a_stopped_record)
{
	struct instance	*inst = full_instance();
	ct_Sandbox	*sb = calloc(1, sizeof(*sb));
	sv_InstanceHead	 head;
	struct pb_view	 none = { NULL, 0 };
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*cause = NULL;

	cr_assert_not_null(sb);
	fill_sandbox(sb);
	free(inst->netns_path);
	free(inst->owner_bundle);
	inst->netns_path = inst->owner_bundle = NULL;
	inst->state = SB_STATE_STOPPED;
	inst->exit_status = 137;
	inst->exited_at.seconds = 1700000200;
	cr_assert_eq(inst_encode(inst, sb, none, &buf, &len, &cause), 0);
	cr_assert(msg_decode(sv_InstanceHead_fields, &head, buf, len, &cause),
	    "%s", cause);
	cr_assert_eq(head.state, SB_STATE_STOPPED);
	cr_assert_eq(head.exit_status, 137);
	cr_assert_eq(head.exited_at.seconds, 1700000200);
	cr_assert_str_eq(head.netns_path, "");
	cr_assert_str_eq(head.owner_bundle, "");
	free(buf);
	free(sb);
	free(inst);
}

/*
 * What recovery sets aside: bytes that are no record, a record cut short,
 * a path beyond the head's bound (PATH_MAX).
 */
Test(recover, head_refuses_bad_records)
{
	struct instance	*inst = full_instance();
	ct_Sandbox	*sb = calloc(1, sizeof(*sb));
	sv_InstanceHead	 head;
	struct pb_view	 none = { NULL, 0 };
	uint8_t		*buf = NULL;
	size_t		 len = 0;
	char		*cause = NULL, *longpath;

	cr_assert_not_null(sb);
	fill_sandbox(sb);
	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, "garbage!", 8,
	    &cause));
	free(cause);
	cause = NULL;
	cr_assert_eq(inst_encode(inst, sb, none, &buf, &len, &cause), 0);
	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, buf, len - 3,
	    &cause), "a record cut short was read");
	free(cause);
	cause = NULL;
	free(buf);
	longpath = malloc(5000);
	cr_assert_not_null(longpath);
	memset(longpath, 'p', 4999);
	longpath[4999] = '\0';
	free(inst->netns_path);
	inst->netns_path = longpath;
	cr_assert_eq(inst_encode(inst, sb, none, &buf, &len, &cause), 0);
	cr_assert_not(msg_decode(sv_InstanceHead_fields, &head, buf, len,
	    &cause), "a 4999-byte netns path was read");
	free(cause);
	free(buf);
	free(sb);
	free(inst->netns_path);
	free(inst->owner_bundle);
	free(inst);
}
