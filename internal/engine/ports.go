// Package engine runs stacks of services on one host: it keeps the
// containers of each service at the desired replica count, restarts them by
// policy with backoff, replaces unhealthy ones, keeps the proxy's routes and
// DNS zones (service names, answered by the proxy process) up to date, and
// tears everything down again. It drives three ports — images, runtime,
// networks — implemented by internal/store, internal/engine/runtime and
// internal/engine/network (this file declares them); the orchestration here
// is pure logic and is tested against fakes of those ports, the ports
// themselves against the real runc, overlayfs and CNI plugins.
package engine

import (
	"context"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/engine/health"
	"github.com/berth-dev/berth/internal/engine/restart"
	"github.com/berth-dev/berth/internal/proxy"
)

// ServiceSpec is what the engine runs for one service: the stack file's
// service with everything resolved that the engine needs.
type ServiceSpec struct {
	Name        string
	Image       string // reference; resolved to a digest by Images.Resolve
	Command     []string
	Entrypoint  []string // nil: the image's
	Env         map[string]string
	User        string
	WorkingDir  string
	Ports       []PortMapping
	Mounts      []Mount
	Secrets     []Secret
	Health      *health.Check // nil: the image's HEALTHCHECK, if any
	Restart     restart.Policy
	Replicas    int
	MemoryBytes int64
	CPUs        float64
	Pids        int64
	ReadOnly    bool
	CapAdd      []string
	CapDrop     []string
	DependsOn   map[string]string // service → condition (service_started, service_healthy, service_completed_successfully)
	// OptionalDeps are the DependsOn entries with compose's required:
	// false: one that failed, exited badly or runs no container does not
	// hold the service back.
	OptionalDeps []string `json:",omitempty"`
	// Configs are non-secret files mounted read-only into the containers.
	Configs []Config `json:",omitempty"`
	// Hostname is the containers' host name ("": the container's name).
	Hostname string `json:",omitempty"`
	// Labels are the service's labels: metadata, shown by inspect.
	Labels      map[string]string `json:",omitempty"`
	StopSignal  syscall.Signal    // 0: the image's STOPSIGNAL, else SIGTERM
	StopTimeout time.Duration
	// Proxy says how the proxy serves the service's published TCP ports
	// (nil: plain TCP, round robin). Update and Rollback are compose's
	// deploy.update_config and rollback_config for berth deploy (nil: the
	// deployer's defaults). None of the three changes what a container
	// runs, so they are not part of its config hash.
	Proxy    *ProxyOptions `json:",omitempty"`
	Update   *UpdateConfig `json:",omitempty"`
	Rollback *UpdateConfig `json:",omitempty"`
}

// ProxyOptions are a service's proxy settings (x-berth-proxy).
type ProxyOptions struct {
	Protocol     string        `json:"protocol,omitempty"` // http or tcp (default: http)
	Hosts        []string      `json:"hosts,omitempty"`    // Host routing on a shared port
	Balance      string        `json:"balance,omitempty"`  // round_robin (default) or least_conn
	DrainTimeout time.Duration `json:"drainTimeout,omitempty"`
	TLSCert      string        `json:"tlsCert,omitempty"` // PEM files: terminate TLS
	TLSKey       string        `json:"tlsKey,omitempty"`
	// Timeouts bound each phase of an HTTP request (zero: the proxy's
	// defaults).
	Timeouts proxy.Timeouts `json:"timeouts,omitzero"`
}

// UpdateConfig is compose's deploy.update_config / rollback_config. Zero
// fields mean the deployer's defaults.
type UpdateConfig struct {
	Parallelism     *uint64       `json:"parallelism,omitempty"` // nil: default (1); 0: all at once
	Delay           time.Duration `json:"delay,omitempty"`
	FailureAction   string        `json:"failureAction,omitempty"` // rollback (berth's default) | pause | continue
	Monitor         time.Duration `json:"monitor,omitempty"`
	MaxFailureRatio float64       `json:"maxFailureRatio,omitempty"`
	Order           string        `json:"order,omitempty"` // start-first | stop-first
}

// StackSpec is a stack's desired state.
type StackSpec struct {
	Name     string
	Services []ServiceSpec // dependency order
}

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostIP        string `json:"hostIP"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Mount is a volume, bind or tmpfs mount.
type Mount struct {
	Type     string `json:"type"` // volume, bind, tmpfs
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
	// CreateHostPath: a bind whose host directory is missing is created
	// (compose's short syntax) instead of failing the start.
	CreateHostPath bool `json:"createHostPath,omitempty"`
	// External: a volume that must exist already (created by another
	// stack); starting fails when it does not, and down -v keeps it.
	External bool `json:"external,omitempty"`
	// TmpfsSize (bytes) and TmpfsMode (permission bits of the mount's
	// root) of a tmpfs; 0 = the kernel's defaults (half the RAM, 1777).
	TmpfsSize int64  `json:"tmpfsSize,omitempty"`
	TmpfsMode uint32 `json:"tmpfsMode,omitempty"`
}

// DefaultSecretMode and DefaultConfigMode are the files' modes when the
// service sets none (compose's).
const (
	DefaultSecretMode = 0o400
	DefaultConfigMode = 0o444
)

// Secret is a file whose value the runtime reads from File when it starts
// a container and writes to a tmpfs of the container's own (never a disk,
// never a log or state file). Target is a plain file name under
// /run/secrets ("" = Name) or an absolute path in the container.
type Secret struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	File   string `json:"file"` // host file holding the value (never logged)
	// UID and GID own the file; Mode is its permission bits (0 =
	// DefaultSecretMode).
	UID  uint32 `json:"uid,omitempty"`
	GID  uint32 `json:"gid,omitempty"`
	Mode uint32 `json:"mode,omitempty"`
}

// Config is a non-secret file mounted read-only at Target (absolute), its
// content inline (Content) or read from the host file File when a
// container starts.
type Config struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	File    string `json:"file,omitempty"`
	Content string `json:"content,omitempty"`
	UID     uint32 `json:"uid,omitempty"`
	GID     uint32 `json:"gid,omitempty"`
	Mode    uint32 `json:"mode,omitempty"` // 0 = DefaultConfigMode
}

// ImageInfo is a resolved image.
type ImageInfo struct {
	Digest      string
	Entrypoint  []string
	Cmd         []string
	Env         []string
	User        string
	WorkingDir  string
	Healthcheck *health.Check
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
	Mounts   []Mount
	Secrets  []Secret
	Configs  []Config
	Service  ServiceSpec
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
	Attach(ctx context.Context, network, id, netns string, ports []PortMapping) (net.IP, error)
	Detach(ctx context.Context, network, id, netns string, ports []PortMapping) error
	Remove(ctx context.Context, network string) error
}
