// Package stack loads the services berth runs — from a compose file
// (compose.yaml, docker-compose.yml) or from berth.yaml's services: and
// environments: — into one normalised model, the Stack, that the engine
// executes. Compose parsing, interpolation, override merging and JSON-schema
// validation are compose-go's; this package chooses the inputs (environment,
// berth.yaml's vars and environments), converts the result into berth's own
// types, and reports every compose attribute berth does not implement as a
// Warning instead of dropping it silently; a value of a supported attribute
// that berth cannot honour (an environment secret, an internal network) is
// an error naming the field.
package stack

import "time"

// Stack is one loaded project: what `berth up` creates and `berth down`
// removes.
type Stack struct {
	Name string `json:"name"`
	// Dir is the absolute project directory (the directory of the first
	// file); relative paths in the files were resolved against it.
	Dir string `json:"dir"`
	// Services in dependency order: every service comes after the services
	// it depends on (ties broken by name), so starting them in this order
	// and stopping them in reverse honours depends_on.
	Services []Service          `json:"services"`
	Volumes  map[string]Volume  `json:"volumes,omitempty"`
	Secrets  map[string]Secret  `json:"secrets,omitempty"`
	Configs  map[string]Config  `json:"configs,omitempty"`
	Networks map[string]Network `json:"networks,omitempty"`
	Files    []string           `json:"files,omitempty"` // the files loaded, absolute
	// ACME is berth.yaml's acme: (the environment's over the file's):
	// where tls: auto certificates come from; nil: the daemon's settings.
	ACME *ACME `json:"acme,omitempty"`
}

// Service returns the service called name, or nil.
func (s *Stack) Service(name string) *Service {
	for i := range s.Services {
		if s.Services[i].Name == name {
			return &s.Services[i]
		}
	}
	return nil
}

// Service is one service: Replicas identical containers.
type Service struct {
	Name  string `json:"name"`
	Image string `json:"image,omitempty"` // may be empty when Build is set
	Build *Build `json:"build,omitempty"`

	// Command and Entrypoint replace the image's when non-nil; an empty,
	// non-nil slice clears the image's value (compose `command: []`).
	Command    []string `json:"command,omitzero"`
	Entrypoint []string `json:"entrypoint,omitzero"`
	// Environment is the final environment: env_file entries overridden by
	// environment:, variables interpolated. Entries without a value that no
	// variable supplies are left out, as docker does.
	Environment map[string]string `json:"environment,omitempty"`
	User        string            `json:"user,omitempty"`
	WorkingDir  string            `json:"working_dir,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`

	Ports       []Port                `json:"ports,omitempty"`
	Volumes     []Mount               `json:"volumes,omitempty"` // volumes: and tmpfs:, in that order
	Healthcheck *Healthcheck          `json:"healthcheck,omitempty"`
	DependsOn   map[string]Dependency `json:"depends_on,omitempty"`

	Replicas int           `json:"replicas"` // deploy.replicas or scale; default 1; 0 = defined but not started
	Limits   Resources     `json:"limits,omitzero"`
	Restart  RestartPolicy `json:"restart"`

	Secrets []SecretRef `json:"secrets,omitempty"`
	Configs []ConfigRef `json:"configs,omitempty"`

	ReadOnly bool     `json:"read_only,omitempty"`
	CapAdd   []string `json:"cap_add,omitempty"`
	CapDrop  []string `json:"cap_drop,omitempty"`
	// Networks the service joins, sorted; a service that names none is on
	// the stack's "default" network.
	Networks        []string          `json:"networks,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	StopSignal      string            `json:"stop_signal,omitempty"`       // "" = the image's, else SIGTERM
	StopGracePeriod time.Duration     `json:"stop_grace_period,omitempty"` // 0 = default (10 s)

	// UpdateConfig and RollbackConfig (deploy.update_config,
	// deploy.rollback_config) are kept for rolling deploys; nil = not set.
	UpdateConfig   *UpdateConfig `json:"update_config,omitempty"`
	RollbackConfig *UpdateConfig `json:"rollback_config,omitempty"`
	// Proxy (x-berth-proxy) says how berth's proxy serves the published
	// TCP ports; nil = plain TCP.
	Proxy *Proxy `json:"x-berth-proxy,omitempty"`
}

// Build says how to build a service's image when it has one to build.
// Exactly one of Image and Context is meaningful: Image names an image of
// berth.yaml's images: (with an optional variant); otherwise Context is a
// directory with a Dockerfile for berth to import.
type Build struct {
	Context    string `json:"context,omitempty"`    // absolute
	Dockerfile string `json:"dockerfile,omitempty"` // absolute; default Context/Dockerfile
	Image      string `json:"image,omitempty"`      // a berth.yaml images: name
	Variant    string `json:"variant,omitempty"`    // a variant of Image
	// Args are Dockerfile ARG values (compose build.args).
	Args map[string]string `json:"args,omitempty"`
	// Target is the Dockerfile stage to build (compose build.target).
	Target string `json:"target,omitempty"`
}

// Port is one published port.
type Port struct {
	// HostIP is the address to bind on the host, "0.0.0.0" (every IPv4
	// address) unless the file names one, as with compose.
	HostIP string `json:"host_ip"`
	// HostPort 0 means "an ephemeral port chosen at start" (compose "80").
	HostPort      int    `json:"host_port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"` // "tcp" or "udp"
}

// Mount types.
const (
	MountVolume = "volume"
	MountBind   = "bind"
	MountTmpfs  = "tmpfs"
)

// Mount is one of a service's mounts.
type Mount struct {
	Type string `json:"type"` // MountVolume, MountBind or MountTmpfs
	// Source is the volume name (a key of Stack.Volumes; "" = an anonymous
	// volume, one per container), the absolute host path of a bind, or ""
	// for tmpfs.
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"` // absolute container path
	ReadOnly bool   `json:"read_only,omitempty"`
	// CreateHostPath: a bind whose host path is missing is created as a
	// directory (compose short syntax) instead of failing.
	CreateHostPath bool   `json:"create_host_path,omitempty"`
	TmpfsSize      int64  `json:"tmpfs_size,omitempty"` // bytes; 0 = kernel default
	TmpfsMode      uint32 `json:"tmpfs_mode,omitempty"` // 0 = kernel default (1777)
}

// Healthcheck is how the engine probes a container. Zero durations and
// retries mean the defaults (30 s interval, 30 s timeout, 3 retries, no start
// period, 5 s start interval).
type Healthcheck struct {
	// Test is ["CMD", args...], ["CMD-SHELL", command] or ["NONE"].
	Test          []string      `json:"test,omitempty"`
	Interval      time.Duration `json:"interval,omitempty"`
	Timeout       time.Duration `json:"timeout,omitempty"`
	StartPeriod   time.Duration `json:"start_period,omitempty"`
	StartInterval time.Duration `json:"start_interval,omitempty"`
	Retries       int           `json:"retries,omitempty"`
	// Disable turns off the image's HEALTHCHECK too (compose disable: true
	// or test: ["NONE"]).
	Disable bool `json:"disable,omitempty"`
}

// Dependency conditions.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dependency is one depends_on entry.
type Dependency struct {
	Condition string `json:"condition"`
	// Required false: start anyway when the dependency is missing or fails.
	Required bool `json:"required"`
}

// Resources are a container's limits; zero means unlimited.
type Resources struct {
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	CPUs        float64 `json:"cpus,omitempty"`
	Pids        int64   `json:"pids,omitempty"`
}

// Restart modes.
const (
	RestartNo            = "no"
	RestartAlways        = "always"
	RestartOnFailure     = "on-failure"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy says when the engine restarts a container that exited.
type RestartPolicy struct {
	Mode       string `json:"mode"`                  // RestartNo (default), RestartAlways, RestartOnFailure, RestartUnlessStopped
	MaxRetries int    `json:"max_retries,omitempty"` // on-failure only; 0 = unlimited
}

// UpdateConfig is compose deploy.update_config / rollback_config. Unset
// fields are zero; their defaults (Swarm's: parallelism 1, order
// stop-first, failure_action pause, monitor 5 s) are the deployer's.
type UpdateConfig struct {
	Parallelism     *uint64       `json:"parallelism,omitempty"` // nil = default; 0 = all at once
	Delay           time.Duration `json:"delay,omitempty"`
	FailureAction   string        `json:"failure_action,omitempty"` // pause | continue | rollback
	Monitor         time.Duration `json:"monitor,omitempty"`
	MaxFailureRatio float64       `json:"max_failure_ratio,omitempty"`
	Order           string        `json:"order,omitempty"` // stop-first | start-first
}

// SecretRef mounts a secret of Stack.Secrets into a service's containers.
type SecretRef struct {
	Source string `json:"source"` // key of Stack.Secrets
	Target string `json:"target"` // absolute path; default /run/secrets/<source>
	Mode   uint32 `json:"mode"`   // default 0400
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
}

// ConfigRef mounts a config of Stack.Configs into a service's containers.
type ConfigRef struct {
	Source string `json:"source"` // key of Stack.Configs
	Target string `json:"target"` // absolute path; default /<source>
	Mode   uint32 `json:"mode"`   // default 0444
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
}

// Volume is a named volume of the stack.
type Volume struct {
	// Name is the volume's name on the host: "<stack>_<key>" unless the
	// file set name:.
	Name string `json:"name"`
	// External volumes must exist already; berth neither creates nor
	// removes them.
	External bool `json:"external,omitempty"`
}

// Secret is where a secret's value comes from. The value itself is read by
// the engine when it starts a container and is never part of the Stack.
type Secret struct {
	Name        string `json:"name"`
	File        string `json:"file,omitempty"`        // absolute path
	Environment string `json:"environment,omitempty"` // name of the variable holding the value
}

// Config is a non-secret file mounted into containers: from a file, an
// environment variable or inline content.
type Config struct {
	Name        string `json:"name"`
	File        string `json:"file,omitempty"`
	Environment string `json:"environment,omitempty"`
	Content     string `json:"content,omitempty"`
}

// Network is a network of the stack (a bridge on the host).
type Network struct {
	Name     string `json:"name"` // "<stack>_<key>" unless the file set name:
	External bool   `json:"external,omitempty"`
	Internal bool   `json:"internal,omitempty"` // no route outside the host
}

// Warning is one attribute of the files that berth does not implement. It is
// reported, never silently dropped; the attribute has no effect.
type Warning struct {
	Service string `json:"service,omitempty"` // "" for top-level attributes
	Field   string `json:"field"`             // dotted path below the service (or from the top)
	Message string `json:"message"`
}

func (w Warning) String() string {
	if w.Service != "" {
		return "services." + w.Service + "." + w.Field + ": " + w.Message
	}
	return w.Field + ": " + w.Message
}
