// Message types of the sandbox API, written by hand from
// /work/shared/spec/messages.md (field numbers and types as containerd
// publishes them). They are plain structs whose `protobuf` struct tags the
// reflection-based codec of github.com/gogo/protobuf (what ttrpc 1.1's codec
// uses) reads; maps carry `protobuf_key`/`protobuf_val` tags. Every message
// keeps XXX_unrecognized so that a field number the daemon sends and these
// tables do not define is noticed (see unknownFields in main.go).
//
// Messages that are the same on the wire (same numbers, types and names)
// share one Go type, and messages.md's names for them are aliases of it
// (StoreGetRequest = sandboxIDMsg): each shape is written, and made a
// proto.Message, once. The codec reads only the struct, so an alias
// encodes exactly as a type of its own would; selfcheck.sh still checks
// every name against the .proto files.
package main

import "github.com/gogo/protobuf/proto"

// ---- google.protobuf / containerd.types ----

type Any struct {
	TypeUrl          string `protobuf:"bytes,1,opt,name=type_url,json=typeUrl,proto3"`
	Value            []byte `protobuf:"bytes,2,opt,name=value,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type Timestamp struct {
	Seconds          int64  `protobuf:"varint,1,opt,name=seconds,proto3"`
	Nanos            int32  `protobuf:"varint,2,opt,name=nanos,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type SandboxRuntime struct {
	Name             string `protobuf:"bytes,1,opt,name=name,proto3"`
	Options          *Any   `protobuf:"bytes,2,opt,name=options,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type Sandbox struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Runtime          *SandboxRuntime   `protobuf:"bytes,2,opt,name=runtime,proto3"`
	Spec             *Any              `protobuf:"bytes,3,opt,name=spec,proto3"`
	Labels           map[string]string `protobuf:"bytes,4,rep,name=labels,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	CreatedAt        *Timestamp        `protobuf:"bytes,5,opt,name=created_at,json=createdAt,proto3"`
	UpdatedAt        *Timestamp        `protobuf:"bytes,6,opt,name=updated_at,json=updatedAt,proto3"`
	Extensions       map[string]*Any   `protobuf:"bytes,7,rep,name=extensions,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	Sandboxer        string            `protobuf:"bytes,10,opt,name=sandboxer,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

type Mount struct {
	Type             string   `protobuf:"bytes,1,opt,name=type,proto3"`
	Source           string   `protobuf:"bytes,2,opt,name=source,proto3"`
	Target           string   `protobuf:"bytes,3,opt,name=target,proto3"`
	Options          []string `protobuf:"bytes,4,rep,name=options,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

type Platform struct {
	Os               string   `protobuf:"bytes,1,opt,name=os,proto3"`
	Architecture     string   `protobuf:"bytes,2,opt,name=architecture,proto3"`
	Variant          string   `protobuf:"bytes,3,opt,name=variant,proto3"`
	OsVersion        string   `protobuf:"bytes,4,opt,name=os_version,json=osVersion,proto3"`
	OsFeatures       []string `protobuf:"bytes,5,rep,name=os_features,json=osFeatures,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

type Metric struct {
	Timestamp        *Timestamp `protobuf:"bytes,1,opt,name=timestamp,proto3"`
	Id               string     `protobuf:"bytes,2,opt,name=id,proto3"`
	Data             *Any       `protobuf:"bytes,3,opt,name=data,proto3"`
	XXX_unrecognized []byte     `json:"-"`
}

// sandboxd.v1.Metrics (nanopb_protos/sandboxd/v1/sandboxd.proto): what the
// daemon puts in Metric.data.
type SandboxdMetrics struct {
	CpuUsageNs       uint64 `protobuf:"varint,1,opt,name=cpu_usage_ns,json=cpuUsageNs,proto3"`
	CpuUserNs        uint64 `protobuf:"varint,2,opt,name=cpu_user_ns,json=cpuUserNs,proto3"`
	CpuSystemNs      uint64 `protobuf:"varint,3,opt,name=cpu_system_ns,json=cpuSystemNs,proto3"`
	RssBytes         uint64 `protobuf:"varint,4,opt,name=rss_bytes,json=rssBytes,proto3"`
	Pids             uint32 `protobuf:"varint,5,opt,name=pids,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

// ---- shapes several services' messages share ----

// { string sandbox_id = 1; }
type sandboxIDMsg struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

// {}: what the calls that answer nothing answer.
type emptyMsg struct {
	XXX_unrecognized []byte `json:"-"`
}

// { containerd.types.Sandbox sandbox = 1; }
type sandboxMsg struct {
	Sandbox          *Sandbox `protobuf:"bytes,1,opt,name=sandbox,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

// The Controller's requests of only a sandbox id (and the sandboxer).
type ctrlIDMsg struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Sandboxer        string `protobuf:"bytes,10,opt,name=sandboxer,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

// Platform's answer, the same from the Controller and the shim.
type platformMsg struct {
	Platform         *Platform `protobuf:"bytes,1,opt,name=platform,proto3"`
	XXX_unrecognized []byte    `json:"-"`
}

// Metrics' answer, the same from the Controller and the shim.
type metricsMsg struct {
	Metrics          *Metric `protobuf:"bytes,1,opt,name=metrics,proto3"`
	XXX_unrecognized []byte  `json:"-"`
}

// Wait's answer, the same from the Controller and the shim.
type waitMsg struct {
	ExitStatus       uint32     `protobuf:"varint,1,opt,name=exit_status,json=exitStatus,proto3"`
	ExitedAt         *Timestamp `protobuf:"bytes,2,opt,name=exited_at,json=exitedAt,proto3"`
	XXX_unrecognized []byte     `json:"-"`
}

// ---- containerd.services.sandbox.v1: Store ----

type (
	StoreCreateRequest  = sandboxMsg
	StoreCreateResponse = sandboxMsg
	StoreUpdateResponse = sandboxMsg
	StoreDeleteRequest  = sandboxIDMsg
	StoreDeleteResponse = emptyMsg
	StoreGetRequest     = sandboxIDMsg
	StoreGetResponse    = sandboxMsg
)

type StoreUpdateRequest struct {
	Sandbox          *Sandbox `protobuf:"bytes,1,opt,name=sandbox,proto3"`
	Fields           []string `protobuf:"bytes,2,rep,name=fields,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

type StoreListRequest struct {
	Filters          []string `protobuf:"bytes,1,rep,name=filters,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

type StoreListResponse struct {
	List             []*Sandbox `protobuf:"bytes,1,rep,name=list,proto3"`
	XXX_unrecognized []byte     `json:"-"`
}

// ---- containerd.services.sandbox.v1: Controller ----

type (
	ControllerCreateResponse   = sandboxIDMsg
	ControllerStartRequest     = ctrlIDMsg
	ControllerPlatformRequest  = ctrlIDMsg
	ControllerPlatformResponse = platformMsg
	ControllerStopResponse     = emptyMsg
	ControllerWaitRequest      = ctrlIDMsg
	ControllerWaitResponse     = waitMsg
	ControllerShutdownRequest  = ctrlIDMsg
	ControllerShutdownResponse = emptyMsg
	ControllerMetricsRequest   = ctrlIDMsg
	ControllerMetricsResponse  = metricsMsg
	ControllerUpdateResponse   = emptyMsg
)

type ControllerCreateRequest struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Rootfs           []*Mount          `protobuf:"bytes,2,rep,name=rootfs,proto3"`
	Options          *Any              `protobuf:"bytes,3,opt,name=options,proto3"`
	NetnsPath        string            `protobuf:"bytes,4,opt,name=netns_path,json=netnsPath,proto3"`
	Annotations      map[string]string `protobuf:"bytes,5,rep,name=annotations,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	Sandbox          *Sandbox          `protobuf:"bytes,6,opt,name=sandbox,proto3"`
	Sandboxer        string            `protobuf:"bytes,10,opt,name=sandboxer,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

type ControllerStartResponse struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Pid              uint32            `protobuf:"varint,2,opt,name=pid,proto3"`
	CreatedAt        *Timestamp        `protobuf:"bytes,3,opt,name=created_at,json=createdAt,proto3"`
	Labels           map[string]string `protobuf:"bytes,4,rep,name=labels,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	Address          string            `protobuf:"bytes,5,opt,name=address,proto3"`
	Version          uint32            `protobuf:"varint,6,opt,name=version,proto3"`
	Spec             *Any              `protobuf:"bytes,7,opt,name=spec,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

type ControllerStopRequest struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	TimeoutSecs      uint32 `protobuf:"varint,2,opt,name=timeout_secs,json=timeoutSecs,proto3"`
	Sandboxer        string `protobuf:"bytes,10,opt,name=sandboxer,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type ControllerStatusRequest struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Verbose          bool   `protobuf:"varint,2,opt,name=verbose,proto3"`
	Sandboxer        string `protobuf:"bytes,10,opt,name=sandboxer,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type ControllerStatusResponse struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Pid              uint32            `protobuf:"varint,2,opt,name=pid,proto3"`
	State            string            `protobuf:"bytes,3,opt,name=state,proto3"`
	Info             map[string]string `protobuf:"bytes,4,rep,name=info,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	CreatedAt        *Timestamp        `protobuf:"bytes,5,opt,name=created_at,json=createdAt,proto3"`
	ExitedAt         *Timestamp        `protobuf:"bytes,6,opt,name=exited_at,json=exitedAt,proto3"`
	Extra            *Any              `protobuf:"bytes,7,opt,name=extra,proto3"`
	Address          string            `protobuf:"bytes,8,opt,name=address,proto3"`
	Version          uint32            `protobuf:"varint,9,opt,name=version,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

type ControllerUpdateRequest struct {
	SandboxId        string   `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Sandboxer        string   `protobuf:"bytes,2,opt,name=sandboxer,proto3"`
	Sandbox          *Sandbox `protobuf:"bytes,3,opt,name=sandbox,proto3"`
	Fields           []string `protobuf:"bytes,4,rep,name=fields,proto3"`
	XXX_unrecognized []byte   `json:"-"`
}

// ---- containerd.runtime.sandbox.v1: the shim Sandbox service ----

// The shim's status is the Controller's without address and version, and
// its Stop request the Controller's without sandboxer: kept apart, so that
// each carries only the fields its .proto has (an address in a shim's
// status would show as unrecognized).
type (
	CreateSandboxResponse   = emptyMsg
	StartSandboxRequest     = sandboxIDMsg
	PlatformRequest         = sandboxIDMsg
	PlatformResponse        = platformMsg
	StopSandboxResponse     = emptyMsg
	WaitSandboxRequest      = sandboxIDMsg
	WaitSandboxResponse     = waitMsg
	PingRequest             = sandboxIDMsg
	PingResponse            = emptyMsg
	ShutdownSandboxRequest  = sandboxIDMsg
	ShutdownSandboxResponse = emptyMsg
	SandboxMetricsRequest   = sandboxIDMsg
	SandboxMetricsResponse  = metricsMsg
)

type CreateSandboxRequest struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	BundlePath       string            `protobuf:"bytes,2,opt,name=bundle_path,json=bundlePath,proto3"`
	Rootfs           []*Mount          `protobuf:"bytes,3,rep,name=rootfs,proto3"`
	Options          *Any              `protobuf:"bytes,4,opt,name=options,proto3"`
	NetnsPath        string            `protobuf:"bytes,5,opt,name=netns_path,json=netnsPath,proto3"`
	Annotations      map[string]string `protobuf:"bytes,6,rep,name=annotations,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

type StartSandboxResponse struct {
	Pid              uint32     `protobuf:"varint,1,opt,name=pid,proto3"`
	CreatedAt        *Timestamp `protobuf:"bytes,2,opt,name=created_at,json=createdAt,proto3"`
	Spec             *Any       `protobuf:"bytes,3,opt,name=spec,proto3"`
	XXX_unrecognized []byte     `json:"-"`
}

type StopSandboxRequest struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	TimeoutSecs      uint32 `protobuf:"varint,2,opt,name=timeout_secs,json=timeoutSecs,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type SandboxStatusRequest struct {
	SandboxId        string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Verbose          bool   `protobuf:"varint,2,opt,name=verbose,proto3"`
	XXX_unrecognized []byte `json:"-"`
}

type SandboxStatusResponse struct {
	SandboxId        string            `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
	Pid              uint32            `protobuf:"varint,2,opt,name=pid,proto3"`
	State            string            `protobuf:"bytes,3,opt,name=state,proto3"`
	Info             map[string]string `protobuf:"bytes,4,rep,name=info,proto3" protobuf_key:"bytes,1,opt,name=key,proto3" protobuf_val:"bytes,2,opt,name=value,proto3"`
	CreatedAt        *Timestamp        `protobuf:"bytes,5,opt,name=created_at,json=createdAt,proto3"`
	ExitedAt         *Timestamp        `protobuf:"bytes,6,opt,name=exited_at,json=exitedAt,proto3"`
	Extra            *Any              `protobuf:"bytes,7,opt,name=extra,proto3"`
	XXX_unrecognized []byte            `json:"-"`
}

// ---- proto.Message: Reset, String, ProtoMessage ----

func text(m proto.Message) string { return proto.CompactTextString(m) }

func (m *Any) Reset()                              { *m = Any{} }
func (m *Any) String() string                      { return text(m) }
func (*Any) ProtoMessage()                         {}
func (m *Timestamp) Reset()                        { *m = Timestamp{} }
func (m *Timestamp) String() string                { return text(m) }
func (*Timestamp) ProtoMessage()                   {}
func (m *SandboxRuntime) Reset()                   { *m = SandboxRuntime{} }
func (m *SandboxRuntime) String() string           { return text(m) }
func (*SandboxRuntime) ProtoMessage()              {}
func (m *Sandbox) Reset()                          { *m = Sandbox{} }
func (m *Sandbox) String() string                  { return text(m) }
func (*Sandbox) ProtoMessage()                     {}
func (m *Mount) Reset()                            { *m = Mount{} }
func (m *Mount) String() string                    { return text(m) }
func (*Mount) ProtoMessage()                       {}
func (m *Platform) Reset()                         { *m = Platform{} }
func (m *Platform) String() string                 { return text(m) }
func (*Platform) ProtoMessage()                    {}
func (m *Metric) Reset()                           { *m = Metric{} }
func (m *Metric) String() string                   { return text(m) }
func (*Metric) ProtoMessage()                      {}
func (m *SandboxdMetrics) Reset()                  { *m = SandboxdMetrics{} }
func (m *SandboxdMetrics) String() string          { return text(m) }
func (*SandboxdMetrics) ProtoMessage()             {}
func (m *sandboxIDMsg) Reset()                     { *m = sandboxIDMsg{} }
func (m *sandboxIDMsg) String() string             { return text(m) }
func (*sandboxIDMsg) ProtoMessage()                {}
func (m *emptyMsg) Reset()                         { *m = emptyMsg{} }
func (m *emptyMsg) String() string                 { return text(m) }
func (*emptyMsg) ProtoMessage()                    {}
func (m *sandboxMsg) Reset()                       { *m = sandboxMsg{} }
func (m *sandboxMsg) String() string               { return text(m) }
func (*sandboxMsg) ProtoMessage()                  {}
func (m *ctrlIDMsg) Reset()                        { *m = ctrlIDMsg{} }
func (m *ctrlIDMsg) String() string                { return text(m) }
func (*ctrlIDMsg) ProtoMessage()                   {}
func (m *platformMsg) Reset()                      { *m = platformMsg{} }
func (m *platformMsg) String() string              { return text(m) }
func (*platformMsg) ProtoMessage()                 {}
func (m *metricsMsg) Reset()                       { *m = metricsMsg{} }
func (m *metricsMsg) String() string               { return text(m) }
func (*metricsMsg) ProtoMessage()                  {}
func (m *waitMsg) Reset()                          { *m = waitMsg{} }
func (m *waitMsg) String() string                  { return text(m) }
func (*waitMsg) ProtoMessage()                     {}
func (m *StoreUpdateRequest) Reset()               { *m = StoreUpdateRequest{} }
func (m *StoreUpdateRequest) String() string       { return text(m) }
func (*StoreUpdateRequest) ProtoMessage()          {}
func (m *StoreListRequest) Reset()                 { *m = StoreListRequest{} }
func (m *StoreListRequest) String() string         { return text(m) }
func (*StoreListRequest) ProtoMessage()            {}
func (m *StoreListResponse) Reset()                { *m = StoreListResponse{} }
func (m *StoreListResponse) String() string        { return text(m) }
func (*StoreListResponse) ProtoMessage()           {}
func (m *ControllerCreateRequest) Reset()          { *m = ControllerCreateRequest{} }
func (m *ControllerCreateRequest) String() string  { return text(m) }
func (*ControllerCreateRequest) ProtoMessage()     {}
func (m *ControllerStartResponse) Reset()          { *m = ControllerStartResponse{} }
func (m *ControllerStartResponse) String() string  { return text(m) }
func (*ControllerStartResponse) ProtoMessage()     {}
func (m *ControllerStopRequest) Reset()            { *m = ControllerStopRequest{} }
func (m *ControllerStopRequest) String() string    { return text(m) }
func (*ControllerStopRequest) ProtoMessage()       {}
func (m *ControllerStatusRequest) Reset()          { *m = ControllerStatusRequest{} }
func (m *ControllerStatusRequest) String() string  { return text(m) }
func (*ControllerStatusRequest) ProtoMessage()     {}
func (m *ControllerStatusResponse) Reset()         { *m = ControllerStatusResponse{} }
func (m *ControllerStatusResponse) String() string { return text(m) }
func (*ControllerStatusResponse) ProtoMessage()    {}
func (m *ControllerUpdateRequest) Reset()          { *m = ControllerUpdateRequest{} }
func (m *ControllerUpdateRequest) String() string  { return text(m) }
func (*ControllerUpdateRequest) ProtoMessage()     {}
func (m *CreateSandboxRequest) Reset()             { *m = CreateSandboxRequest{} }
func (m *CreateSandboxRequest) String() string     { return text(m) }
func (*CreateSandboxRequest) ProtoMessage()        {}
func (m *StartSandboxResponse) Reset()             { *m = StartSandboxResponse{} }
func (m *StartSandboxResponse) String() string     { return text(m) }
func (*StartSandboxResponse) ProtoMessage()        {}
func (m *StopSandboxRequest) Reset()               { *m = StopSandboxRequest{} }
func (m *StopSandboxRequest) String() string       { return text(m) }
func (*StopSandboxRequest) ProtoMessage()          {}
func (m *SandboxStatusRequest) Reset()             { *m = SandboxStatusRequest{} }
func (m *SandboxStatusRequest) String() string     { return text(m) }
func (*SandboxStatusRequest) ProtoMessage()        {}
func (m *SandboxStatusResponse) Reset()            { *m = SandboxStatusResponse{} }
func (m *SandboxStatusResponse) String() string    { return text(m) }
func (*SandboxStatusResponse) ProtoMessage()       {}
