/*
 * fuzz_methods.c: every method a peer can call and its request type, in
 * the order of server/dispatch.c's table (fuzz.h says why it is a copy).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <pb_common.h>

#include "fuzz.h"
#include "protocol.h"

#include "containerd/services/sandbox/v1/sandbox.pb.h"
#include "containerd/runtime/sandbox/v1/sandbox.pb.h"
#include "containerd/task/v2/shim.pb.h"
#include "sandboxd/v1/admin.pb.h"

#define M(svc, m, req) { (svc), (m), req##_fields, sizeof(req) }
const struct fuzz_method fuzz_methods[] = {
	M(SERVICE_STORE, "Create", cssv_StoreCreateRequest),
	M(SERVICE_STORE, "Update", cssv_StoreUpdateRequest),
	M(SERVICE_STORE, "Delete", cssv_StoreDeleteRequest),
	M(SERVICE_STORE, "List", cssv_StoreListRequest),
	M(SERVICE_STORE, "Get", cssv_StoreGetRequest),
	M(SERVICE_CONTROLLER, "Create", cssv_ControllerCreateRequest),
	M(SERVICE_CONTROLLER, "Start", cssv_ControllerStartRequest),
	M(SERVICE_CONTROLLER, "Platform", cssv_ControllerPlatformRequest),
	M(SERVICE_CONTROLLER, "Stop", cssv_ControllerStopRequest),
	M(SERVICE_CONTROLLER, "Wait", cssv_ControllerWaitRequest),
	M(SERVICE_CONTROLLER, "Status", cssv_ControllerStatusRequest),
	M(SERVICE_CONTROLLER, "Shutdown", cssv_ControllerShutdownRequest),
	M(SERVICE_CONTROLLER, "Metrics", cssv_ControllerMetricsRequest),
	M(SERVICE_CONTROLLER, "Update", cssv_ControllerUpdateRequest),
	M(SERVICE_SHIM, "CreateSandbox", crsv_CreateSandboxRequest),
	M(SERVICE_SHIM, "StartSandbox", crsv_StartSandboxRequest),
	M(SERVICE_SHIM, "Platform", crsv_PlatformRequest),
	M(SERVICE_SHIM, "StopSandbox", crsv_StopSandboxRequest),
	M(SERVICE_SHIM, "WaitSandbox", crsv_WaitSandboxRequest),
	M(SERVICE_SHIM, "SandboxStatus", crsv_SandboxStatusRequest),
	M(SERVICE_SHIM, "PingSandbox", crsv_PingRequest),
	M(SERVICE_SHIM, "ShutdownSandbox", crsv_ShutdownSandboxRequest),
	M(SERVICE_SHIM, "SandboxMetrics", crsv_SandboxMetricsRequest),
	M(SERVICE_TASK, "Connect", ctv_ConnectRequest),
	M(SERVICE_TASK, "Pids", ctv_PidsRequest),
	M(SERVICE_TASK, "Shutdown", ctv_ShutdownRequest),
	M(SERVICE_TASK, "Create", ctv_CreateTaskRequest),
	M(SERVICE_TASK, "Start", ctv_StartRequest),
	M(SERVICE_TASK, "Delete", ctv_DeleteRequest),
	M(SERVICE_TASK, "Exec", ctv_ExecProcessRequest),
	M(SERVICE_TASK, "State", ctv_StateRequest),
	M(SERVICE_TASK, "Wait", ctv_WaitRequest),
	M(SERVICE_TASK, "Kill", ctv_KillRequest),
	M(SERVICE_TASK, "ResizePty", ctv_ResizePtyRequest),
	M(SERVICE_TASK, "CloseIO", ctv_CloseIORequest),
	M(SERVICE_TASK, "Stats", ctv_StatsRequest),
	M(SERVICE_TASK, "Update", ctv_UpdateTaskRequest),
	M(SERVICE_TASK, "Pause", ctv_PauseRequest),
	M(SERVICE_TASK, "Resume", ctv_ResumeRequest),
	M(SERVICE_ADMIN, "ListInstances", sv_ListInstancesRequest),
	M(SERVICE_ADMIN, "Reexec", sv_ReexecRequest),
};
#undef M
const size_t fuzz_nmethods = sizeof(fuzz_methods) / sizeof(fuzz_methods[0]);

/* The method named service/name, or NULL (the server's Unimplemented). */
const struct fuzz_method *
fuzz_method_find(const char *service, const char *name)
{
	size_t	i;

	for (i = 0; i < fuzz_nmethods; i++)
		if (strcmp(fuzz_methods[i].service, service) == 0 &&
		    strcmp(fuzz_methods[i].name, name) == 0)
			return (&fuzz_methods[i]);
	return (NULL);
}

/*
 * Debian ships nanopb as an uninstrumented static library, so libFuzzer
 * sees no coverage inside pb_decode.  These counters (a section libFuzzer
 * reads as extra coverage) stand in for it: which fields of which message
 * a decode filled, and roughly how many entries, so an input that reaches
 * a new field or count is kept.
 */
static uint8_t fuzz_counters[1 << 14]
    __attribute__((section("__libfuzzer_extra_counters"), used));

/* Count one feature. */
static void
fuzz_bump(uintptr_t h)
{
	uint8_t	*c = &fuzz_counters[h % sizeof(fuzz_counters)];

	if (*c < UINT8_MAX)
		(*c)++;
}

/* Entries of a repeated field as a small bucket; 0 for absent. */
static unsigned int
fuzz_bucket(bool present, size_t n)
{
	if (!present)
		return (0);
	if (n < 4)
		return (1 + (unsigned int)n);
	return (n < 16 ? 5 : n < 64 ? 6 : 7);
}

/* Count the fields a decode filled in msg, and in its submessages. */
void
fuzz_features(const pb_msgdesc_t *desc, const void *msg, unsigned int depth)
{
	pb_field_iter_t	 it;
	uintptr_t	 base = (uintptr_t)desc * 31u + depth;
	size_t		 n;
	bool		 present;

	if (depth > 6 || !pb_field_iter_begin_const(&it, desc, msg))
		return;
	do {
		n = 1;
		present = PB_ATYPE(it.type) != PB_ATYPE_POINTER ||
		    it.pData != NULL;
		if (PB_HTYPE(it.type) == PB_HTYPE_REPEATED && it.pSize != NULL)
			n = *(const pb_size_t *)it.pSize;
		else if (PB_HTYPE(it.type) == PB_HTYPE_OPTIONAL &&
		    it.pSize != NULL)
			present = present && *(const bool *)it.pSize;
		else if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF)
			present = *(const pb_size_t *)it.pSize == it.tag;
		fuzz_bump(base ^ (uintptr_t)it.tag * 2654435761u ^
		    (uintptr_t)fuzz_bucket(present, n) * 40503u);
		if (present && n > 0 && PB_LTYPE_IS_SUBMSG(it.type) &&
		    PB_ATYPE(it.type) != PB_ATYPE_CALLBACK &&
		    it.submsg_desc != NULL && it.pData != NULL)
			fuzz_features(it.submsg_desc, it.pData, depth + 1);
	} while (pb_field_iter_next(&it));
}
