package main

import (
	"os"
	"path/filepath"

	"github.com/gogo/protobuf/proto"
)

// dumpSamples writes one encoded message per type, every field set, as
// <dir>/<proto full name>.bin, for selfcheck.sh to decode with protoc and
// the project's own .proto files.
func dumpSamples(dir string) error {
	ts := &Timestamp{Seconds: 1700000000, Nanos: 123456789}
	any := &Any{TypeUrl: "t/u", Value: []byte{1, 2, 3}}
	sb := &Sandbox{SandboxId: "id", Runtime: &SandboxRuntime{Name: "rt", Options: any}, Spec: any,
		Labels: map[string]string{"k": "v"}, CreatedAt: ts, UpdatedAt: ts,
		Extensions: map[string]*Any{"e": any}, Sandboxer: "sbx"}
	mount := &Mount{Type: "bind", Source: "/a", Target: "/b", Options: []string{"ro", "rbind"}}
	plat := &Platform{Os: "linux", Architecture: "amd64", Variant: "v8", OsVersion: "1", OsFeatures: []string{"f"}}
	metric := &Metric{Timestamp: ts, Id: "id", Data: any}
	m := map[string]string{"a": "b"}
	samples := map[string]proto.Message{
		"google.protobuf.Any":                                       any,
		"google.protobuf.Timestamp":                                 ts,
		"containerd.types.Sandbox":                                  sb,
		"containerd.types.Mount":                                    mount,
		"containerd.types.Platform":                                 plat,
		"containerd.types.Metric":                                   metric,
		"sandboxd.v1.Metrics":                                       &SandboxdMetrics{1, 2, 3, 4, 5, nil},
		"containerd.services.sandbox.v1.StoreCreateRequest":         &StoreCreateRequest{Sandbox: sb},
		"containerd.services.sandbox.v1.StoreCreateResponse":        &StoreCreateResponse{Sandbox: sb},
		"containerd.services.sandbox.v1.StoreUpdateRequest":         &StoreUpdateRequest{Sandbox: sb, Fields: []string{"labels.k", "spec"}},
		"containerd.services.sandbox.v1.StoreUpdateResponse":        &StoreUpdateResponse{Sandbox: sb},
		"containerd.services.sandbox.v1.StoreDeleteRequest":         &StoreDeleteRequest{SandboxId: "id"},
		"containerd.services.sandbox.v1.StoreListRequest":           &StoreListRequest{Filters: []string{"a==b", "c"}},
		"containerd.services.sandbox.v1.StoreListResponse":          &StoreListResponse{List: []*Sandbox{sb, sb}},
		"containerd.services.sandbox.v1.StoreGetRequest":            &StoreGetRequest{SandboxId: "id"},
		"containerd.services.sandbox.v1.StoreGetResponse":           &StoreGetResponse{Sandbox: sb},
		"containerd.services.sandbox.v1.ControllerCreateRequest":    &ControllerCreateRequest{"id", []*Mount{mount}, any, "/n", m, sb, "sbx", nil},
		"containerd.services.sandbox.v1.ControllerCreateResponse":   &ControllerCreateResponse{SandboxId: "id"},
		"containerd.services.sandbox.v1.ControllerStartRequest":     &ControllerStartRequest{"id", "sbx", nil},
		"containerd.services.sandbox.v1.ControllerStartResponse":    &ControllerStartResponse{"id", 42, ts, m, "unix:///x", 2, any, nil},
		"containerd.services.sandbox.v1.ControllerPlatformRequest":  &ControllerPlatformRequest{"id", "sbx", nil},
		"containerd.services.sandbox.v1.ControllerPlatformResponse": &ControllerPlatformResponse{Platform: plat},
		"containerd.services.sandbox.v1.ControllerStopRequest":      &ControllerStopRequest{"id", 7, "sbx", nil},
		"containerd.services.sandbox.v1.ControllerWaitRequest":      &ControllerWaitRequest{"id", "sbx", nil},
		"containerd.services.sandbox.v1.ControllerWaitResponse":     &ControllerWaitResponse{143, ts, nil},
		"containerd.services.sandbox.v1.ControllerStatusRequest":    &ControllerStatusRequest{"id", true, "sbx", nil},
		"containerd.services.sandbox.v1.ControllerStatusResponse":   &ControllerStatusResponse{"id", 42, "SANDBOX_READY", m, ts, ts, any, "unix:///x", 2, nil},
		"containerd.services.sandbox.v1.ControllerShutdownRequest":  &ControllerShutdownRequest{"id", "sbx", nil},
		"containerd.services.sandbox.v1.ControllerMetricsRequest":   &ControllerMetricsRequest{"id", "sbx", nil},
		"containerd.services.sandbox.v1.ControllerMetricsResponse":  &ControllerMetricsResponse{Metrics: metric},
		"containerd.services.sandbox.v1.ControllerUpdateRequest":    &ControllerUpdateRequest{"id", "sbx", sb, []string{"labels"}, nil},
		"containerd.runtime.sandbox.v1.CreateSandboxRequest":        &CreateSandboxRequest{"id", "/b", []*Mount{mount}, any, "/n", m, nil},
		"containerd.runtime.sandbox.v1.StartSandboxRequest":         &StartSandboxRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.StartSandboxResponse":        &StartSandboxResponse{42, ts, any, nil},
		"containerd.runtime.sandbox.v1.PlatformRequest":             &PlatformRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.PlatformResponse":            &PlatformResponse{Platform: plat},
		"containerd.runtime.sandbox.v1.StopSandboxRequest":          &StopSandboxRequest{"id", 7, nil},
		"containerd.runtime.sandbox.v1.WaitSandboxRequest":          &WaitSandboxRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.WaitSandboxResponse":         &WaitSandboxResponse{143, ts, nil},
		"containerd.runtime.sandbox.v1.SandboxStatusRequest":        &SandboxStatusRequest{"id", true, nil},
		"containerd.runtime.sandbox.v1.SandboxStatusResponse":       &SandboxStatusResponse{"id", 42, "SANDBOX_READY", m, ts, ts, any, nil},
		"containerd.runtime.sandbox.v1.PingRequest":                 &PingRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.ShutdownSandboxRequest":      &ShutdownSandboxRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.SandboxMetricsRequest":       &SandboxMetricsRequest{SandboxId: "id"},
		"containerd.runtime.sandbox.v1.SandboxMetricsResponse":      &SandboxMetricsResponse{Metrics: metric},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, msg := range samples {
		b, err := proto.Marshal(msg)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
