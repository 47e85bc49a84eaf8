// Package release is berth's release pipeline, shared by up, deploy and
// ship: check the daemon and the environment's registry, build the
// services' berth.yaml images (each image and variant once), push them to
// the environment's registry or the local cache, and pin the services to
// what was pushed, by digest; or, for deploy --tag, pin them to the digests
// the registry holds under a tag. It also waits for a stack to be ready
// (up --wait).
//
// The pipeline talks to the builder, the registry and the daemon through
// the small interfaces below (ports), so it is tested against fakes;
// adapters.go adapts the real builder and registry client.
package release

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/engine"
)

// Builder builds one image of berth.yaml's images: (a variant of it).
type Builder interface {
	Build(ctx context.Context, image, variant string) (v1.Image, error)
}

// Registry writes images and answers for the environments' registries.
type Registry interface {
	// Ping checks the registry host[:port] answers the OCI API (/v2/).
	Ping(ctx context.Context, registry string) error
	// Write stores img at ref: a registry reference or an oci-layout:.
	Write(ctx context.Context, img v1.Image, ref string) error
	// Resolve returns the digest of the manifest ref names.
	Resolve(ctx context.Context, ref string) (v1.Hash, error)
}

// Daemon is the engine, seen from the client.
type Daemon interface {
	// Ping checks a daemon answers on the socket.
	Ping(ctx context.Context) error
	// Containers lists a stack's containers.
	Containers(ctx context.Context, stack string) ([]engine.Container, error)
}

// Attester attaches a piece of evidence about a pushed image to it: an
// in-toto predicate (SBOM, provenance) of predicateType about the image
// imageDigestRef names (REPOSITORY@sha256:…), stored as a referrer (signed
// when the adapter has a key).
type Attester interface {
	Attach(ctx context.Context, imageDigestRef, predicateType string, predicate []byte) error
}

// Evidencer is a Builder that can say what an image it built contains and
// how it was made: the predicates the pipeline attaches when it pushes.
type Evidencer interface {
	Evidence(ctx context.Context, image, variant string, img v1.Image) ([]Predicate, error)
}

// Predicate is one in-toto predicate: its type and JSON body.
type Predicate struct {
	Type string
	Body []byte
}
