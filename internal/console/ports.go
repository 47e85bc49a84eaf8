// Package console is berth's web console: server-rendered pages (Go
// html/template, embedded with go:embed) over the daemon's domain, with
// live updates over server-sent events and a little vanilla JS; every page
// reads without JS. It knows nothing of the engine or the deployer: it
// talks to them through the small ports below, which the daemon adapts
// (internal/daemon), and tests use fakes.
package console

import (
	"context"
	"time"

	"github.com/berth-dev/berth/internal/inspect"
)

// Replica is one container of a service, as the console shows it.
type Replica struct {
	Name     string
	Replica  int
	State    string // running, restarting, exited, removing
	Health   string // healthy, unhealthy, starting, or "" (no healthcheck)
	Restarts int
	Ports    []string // "127.0.0.1:8080->80/tcp"
	Digest   string   // the image's digest
	Revision int      // the deploy revision it runs (0: berth up)
}

// Service is a service of a stack with its replicas.
type Service struct {
	Stack    string
	Name     string
	Labels   map[string]string
	Replicas []Replica
}

// Stack is a stack and its services, sorted by name.
type Stack struct {
	Name     string
	Services []Service
}

// Revision is one deploy revision of a service (berth history).
type Revision struct {
	Number     int
	Image      string // the reference as given
	Digest     string
	ConfigHash string
	Created    time.Time
	Outcome    string // deployed, rolled_back, failed, interrupted, in_progress
	Reason     string
	RollbackOf int
	Current    bool
}

// LogLine is one log line of a replica.
type LogLine struct {
	Time   time.Time
	Source string // the container's name
	Stream string // stdout or stderr
	Text   string
}

// Stacks reads what runs.
type Stacks interface {
	// Stacks lists every stack with its services and replicas.
	Stacks(ctx context.Context) ([]Stack, error)
}

// Deploys reads a service's revisions and rolls it back.
type Deploys interface {
	Revisions(ctx context.Context, stack, service string) ([]Revision, error)
	// Rollback rolls service back to revision to, as a new revision, and
	// returns when the rollout has ended.
	Rollback(ctx context.Context, stack, service string, to int) error
}

// LogQuery selects log lines.
type LogQuery struct {
	Stack, Service string
	Replica        int // 0: every replica
	Tail           int // the last Tail lines of each replica (not following)
	Follow         bool
}

// Logs reads a service's logs.
type Logs interface {
	// Logs calls fn with the lines q selects: without Follow, the last
	// q.Tail lines, then returns; with Follow, new lines until ctx ends
	// or fn fails.
	Logs(ctx context.Context, q LogQuery, fn func(LogLine) error) error
}

// Images reads what is inside an image.
type Images interface {
	// Inspect reports on the image with digest: its layers, sizes, files
	// and efficiency (the data of berth inspect --json).
	Inspect(ctx context.Context, digest string) (*inspect.Report, error)
	// Diff compares image to with image from: files, Debian packages and
	// image configuration (the data of berth diff --json). An image not
	// there is ErrNoImage.
	Diff(ctx context.Context, from, to string) (*inspect.DiffReport, error)
}

// ReplicaStats is one replica's resource use at a moment.
type ReplicaStats struct {
	Name        string // the container's name
	Service     string
	CPUPercent  float64 // of one core
	MemoryBytes uint64
}

// StatsSample is every running replica of a service at a moment.
type StatsSample struct {
	Time     time.Time
	Replicas []ReplicaStats
}

// Stats samples a service's resource use.
type Stats interface {
	// Stats calls fn with a sample of the running replicas of stack's
	// service about once a second until ctx ends or fn fails. It reads
	// only that service's replicas.
	Stats(ctx context.Context, stack, service string, fn func(StatsSample) error) error
}

// Tag is a tag of a registry repository and the manifest it names.
type Tag struct {
	Name      string
	Digest    string
	MediaType string
	Size      int64
	Pushed    time.Time
}

// Referrer is an artifact referring to a manifest: a signature, an SBOM,
// a provenance attestation.
type Referrer struct {
	Digest       string
	ArtifactType string
	Size         int64
	// Promotion is set when the referrer is a promotion record (what
	// berth promote attaches to the manifest it copied).
	Promotion *Promotion
}

// Promotion is one promotion record: the manifest Digest was copied from
// FromRef (environment FromEnv) to ToRef (environment ToEnv) at Time by
// Host. The environments are "" when the copy was not between
// environments of a berth.yaml.
type Promotion struct {
	Digest           string
	FromEnv, FromRef string
	ToEnv, ToRef     string
	Time             time.Time
	Host             string
}

// Registry reads a registry's repositories, tags and referrers, and
// deletes tags and manifests.
type Registry interface {
	Repositories(ctx context.Context) ([]string, error)
	// Tags lists repo's tags; an unknown repository is ErrNoRepository.
	Tags(ctx context.Context, repo string) ([]Tag, error)
	Referrers(ctx context.Context, repo, digest string) ([]Referrer, error)
	// Delete deletes tag ref of repo, or the manifest ref when it is a
	// digest, by the registry's own rules (a refusal, such as an
	// immutable tag, is an error whose text the page shows); an unknown
	// repository or reference is ErrNoRepository.
	Delete(ctx context.Context, repo, ref string) error
}

// Ports are what the console reads and acts on: the daemon's (Stacks,
// Deploys and Logs together; Images and Stats optional), a registry's
// (Registry), or both. A nil port's pages are not served.
type Ports struct {
	Stacks   Stacks
	Deploys  Deploys
	Logs     Logs
	Images   Images
	Stats    Stats
	Registry Registry
}

func (p Ports) engine() bool { return p.Stacks != nil }
