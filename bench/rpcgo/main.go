// bench_rpc's Go baseline: containerd's ttrpc server (Debian's
// golang-github-containerd-ttrpc-dev, built in GOPATH mode by bench_rpc)
// serving containerd.services.sandbox.v1.Store/Get the way sandboxd does
// for a missing id: it decodes the request and answers NotFound with the
// same message text, so both servers do the same work per request.
//
//	rpcgo <socket>
package main

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/containerd/ttrpc"
	"github.com/gogo/protobuf/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// storeGetRequest is containerd's StoreGetRequest (sandbox_id = 1).
type storeGetRequest struct {
	SandboxId string `protobuf:"bytes,1,opt,name=sandbox_id,json=sandboxId,proto3"`
}

func (m *storeGetRequest) Reset()         { *m = storeGetRequest{} }
func (m *storeGetRequest) String() string { return proto.CompactTextString(m) }
func (*storeGetRequest) ProtoMessage()    {}

// get answers every Get with NotFound, as sandboxd does for a missing id.
func get(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
	var req storeGetRequest

	if err := unmarshal(&req); err != nil {
		return nil, err
	}
	return nil, status.Errorf(codes.NotFound, "sandbox %q not found", req.SandboxId)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: rpcgo <socket>")
		os.Exit(2)
	}
	s, err := ttrpc.NewServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.Register("containerd.services.sandbox.v1.Store", map[string]ttrpc.Method{
		"Get": get,
	})
	os.Remove(os.Args[1])
	l, err := net.Listen("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := s.Serve(context.Background(), l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
