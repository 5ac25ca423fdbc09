/*
 * fuzz_methods.c: every method a peer can call and its request type, in
 * the order of server/dispatch.c's table (fuzz.h says why it is a copy).
 */
#include <string.h>

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
