// Package engine runs stacks of services on one host: it keeps the
// containers of each service at the desired replica count, restarts them by
// policy with backoff, replaces unhealthy ones, keeps the proxy's routes and
// DNS zones (service names, answered by the proxy process) up to date, and
// tears everything down again. It drives three ports — images, runtime,
// networks — implemented by internal/store, internal/engine/runtime and
// internal/engine/network (this file declares them); what it runs is
// described by internal/model (StackSpec, ServiceSpec). The orchestration here
// is pure logic and is tested against fakes of those ports, the ports
// themselves against the real runc, overlayfs and CNI plugins.
package engine

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// ImageInfo is a resolved image.
type ImageInfo struct {
	Digest      string
	Entrypoint  []string
	Cmd         []string
	Env         []string
	User        string
	WorkingDir  string
	Healthcheck *model.HealthCheck
	StopSignal  syscall.Signal // 0: none set (SIGTERM)
}

// Images resolves references and provides root filesystems.
type Images interface {
	Resolve(ctx context.Context, ref string) (ImageInfo, error) // pulls when missing
	Rootfs(ctx context.Context, digest, dir string) (rootfs string, err error)
	ReleaseRootfs(dir string) error
	// Pull fetches ref again even when it is stored (berth pull).
	Pull(ctx context.Context, ref string) (ImageInfo, error)
	List() ([]ImageSummary, error)
	// Remove deletes an image (force: even when a container uses it).
	Remove(ref string, force bool) error
}

// ImageSummary is one stored image (berth images).
type ImageSummary struct {
	Names   []string  `json:"names"`
	Digest  string    `json:"digest"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

// Stats are a container's resource numbers at one moment.
type Stats struct {
	CPUNanos    uint64 `json:"cpuNanos"` // cumulative CPU time
	MemoryBytes uint64 `json:"memoryBytes"`
	MemoryLimit uint64 `json:"memoryLimit"` // 0: unlimited
	Pids        uint64 `json:"pids"`
	NetRxBytes  uint64 `json:"netRxBytes"`
	NetTxBytes  uint64 `json:"netTxBytes"`
}

// ExecIO connects an interactive exec (berth exec) to the client.
type ExecIO struct {
	Args   []string
	Env    []string
	User   string
	Tty    bool
	Width  uint16
	Height uint16
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Resize <-chan [2]uint16 // height, width
}

// ContainerConfig is one container to run.
type ContainerConfig struct {
	ID, Name string
	Rootfs   string
	Args     []string
	Env      []string
	User     string
	Cwd      string
	Hostname string
	NetNS    string
	Mounts   []model.Mount
	Secrets  []model.Secret
	Configs  []model.Config
	Service  model.ServiceSpec
	Dir      string // the container's state directory
	// Nameserver is the stack network's DNS server (its gateway).
	Nameserver string
	IP         string
}

// Exit is how a container ended.
type Exit struct {
	Code       int
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
}

// Runtime runs containers (through a supervisor each, so they outlive the
// daemon).
type Runtime interface {
	Start(ctx context.Context, c ContainerConfig) error
	// Wait blocks until the container exits (or ctx ends).
	Wait(ctx context.Context, id string) (Exit, error)
	Kill(id string, sig syscall.Signal) error
	Delete(id string) error
	Exec(ctx context.Context, id string, args []string) (int, string, error)
	// ExecIO runs an interactive process (berth exec -it).
	ExecIO(ctx context.Context, id string, o ExecIO) (int, error)
	// Stats reads the container's cgroup and network counters.
	Stats(id string) (Stats, error)
	// Running reports whether a container started by an earlier daemon is
	// still running (re-adoption after a restart).
	Running(id string) bool
}

// Networks gives containers addresses and published ports.
type Networks interface {
	Ensure(ctx context.Context, network string) (gateway net.IP, err error)
	CreateNetNS(id string) (string, error)
	DeleteNetNS(id string) error
	Attach(ctx context.Context, network, id, netns string, ports []model.PortMapping) (net.IP, error)
	Detach(ctx context.Context, network, id, netns string, ports []model.PortMapping) error
	Remove(ctx context.Context, network string) error
}
