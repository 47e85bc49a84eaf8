// Package model is berth's one description of what runs: a stack of
// services (StackSpec, ServiceSpec) with the pieces they carry (ports,
// mounts, secrets, configs, the restart policy, the health check, the proxy
// settings, the update and rollback configs). The stack conversion produces
// it, the CLI sends it to the daemon, the engine runs it and keeps it in
// every container record and stack record on disk, and the deployer keeps it
// in every revision of the deploy history.
//
// The JSON encoding is the same everywhere these types are serialised —
// disk records, the daemon's API, `--json` output:
//
//   - every field has an explicit lower-camel key ("workingDir",
//     "restart":{"mode":...}); TestJSONKeysAreLowerCamel holds every type
//     here to it;
//   - durations are Go Duration strings ("30s", "1m30s", "1.5s", "0s");
//     reading also accepts an integer number of nanoseconds, the encoding
//     of records written before this package existed;
//   - signals are numbers (15 is SIGTERM), file modes are numbers (0o440
//     is 288).
//
// Records written before this package (upper-case keys for the service
// spec, the health check and the restart policy, durations as integer
// nanoseconds) load unchanged: encoding/json matches keys without regard to
// case and the field names did not change, and Duration reads integers.
// Their owners (the engine's container and stack records, the deploy
// history) rewrite such a record once, atomically, in the current encoding
// when they load it.
package model

import "syscall"
import "time"

// StackSpec is a stack's desired state.
type StackSpec struct {
	Name     string        `json:"name"`
	Services []ServiceSpec `json:"services"` // dependency order
	// Only, when set, limits up to these services (berth up SERVICE...,
	// with what they depend on): the others' containers are left as they
	// are, while the stack's routes and record still cover every service.
	Only []string `json:"only,omitempty"`
}

// ServiceSpec is what the engine runs for one service: the stack file's
// service with everything resolved that the engine needs.
type ServiceSpec struct {
	Name        string            `json:"name"`
	Image       string            `json:"image"` // reference; resolved to a digest by the engine's images
	Command     []string          `json:"command"`
	Entrypoint  []string          `json:"entrypoint"` // nil: the image's
	Env         map[string]string `json:"env"`
	User        string            `json:"user"`
	WorkingDir  string            `json:"workingDir"`
	Ports       []PortMapping     `json:"ports"`
	Mounts      []Mount           `json:"mounts"`
	Secrets     []Secret          `json:"secrets"`
	Health      *HealthCheck      `json:"health"` // nil: the image's HEALTHCHECK, if any
	Restart     RestartPolicy     `json:"restart"`
	Replicas    int               `json:"replicas"`
	MemoryBytes int64             `json:"memoryBytes"`
	CPUs        float64           `json:"cpus"`
	Pids        int64             `json:"pids"`
	ReadOnly    bool              `json:"readOnly"`
	CapAdd      []string          `json:"capAdd"`
	CapDrop     []string          `json:"capDrop"`
	DependsOn   map[string]string `json:"dependsOn"` // service → condition (service_started, service_healthy, service_completed_successfully)
	// OptionalDeps are the DependsOn entries with compose's required:
	// false: one that failed, exited badly or runs no container does not
	// hold the service back.
	OptionalDeps []string `json:"optionalDeps,omitempty"`
	// Configs are non-secret files mounted read-only into the containers.
	Configs []Config `json:"configs,omitempty"`
	// Hostname is the containers' host name ("": the container's name).
	Hostname string `json:"hostname,omitempty"`
	// Labels are the service's labels: metadata, shown by inspect.
	Labels     map[string]string `json:"labels,omitempty"`
	StopSignal syscall.Signal    `json:"stopSignal"` // 0: the image's STOPSIGNAL, else SIGTERM
	// StopTimeout is the grace period between the stop signal and SIGKILL
	// (0: the engine's default).
	StopTimeout time.Duration `json:"stopTimeout"`
	// Proxy says how the proxy serves the service's published TCP ports
	// (nil: plain TCP, round robin). Update and Rollback are compose's
	// deploy.update_config and rollback_config for berth deploy (nil: the
	// deployer's defaults). None of the three changes what a container
	// runs, so they are not part of its config hash.
	Proxy    *ProxyOptions `json:"proxy,omitempty"`
	Update   *UpdateConfig `json:"update,omitempty"`
	Rollback *UpdateConfig `json:"rollback,omitempty"`
}
