package release

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/model"
	"github.com/berth-dev/berth/internal/stack"
	"github.com/berth-dev/berth/internal/stack/enginespec"
)

// Mode is what a command does with the images of services that have
// build: (a name of berth.yaml's images:).
type Mode int

const (
	// Up builds them into the local cache (berth up, berth deploy).
	Up Mode = iota
	// Ship builds them and, with an environment, pushes them to its
	// registry under Tag (default latest); without one, as Up.
	Ship
	// Deploy is Up, or with Tag (and an environment) runs what the
	// environment's registry holds under Tag: nothing is built.
	Deploy
)

// Request says what to prepare.
type Request struct {
	Mode Mode
	Env  string // --env; "" = none
	Tag  string // --tag
	// Targets reads the environments' registries from the stack file; it
	// is called only when the request needs one.
	Targets func() (map[string]stack.Target, error)
}

// Pipeline prepares a stack for the daemon.
type Pipeline struct {
	// Builder returns the builder; called once, when the first image is
	// built (a compose file has no images: to load).
	Builder  func() (Builder, error)
	Registry Registry
	Daemon   Daemon
	// LocalDir is the OCI layout local builds go to; called when needed.
	LocalDir func() (string, error)
	// Progress gets one line per step (stderr).
	Progress io.Writer
	// Policy are the ports environments' policy: is checked through.
	Policy PolicyPorts
	// Attester, when set, receives the SBOMs and provenance of every
	// image pushed to an environment's registry (the Builder must be an
	// Evidencer); nil: nothing is attached.
	Attester Attester
	// Cluster checks an environment's Kubernetes cluster (kubernetes:)
	// in place of the daemon, before anything is built (its API answers,
	// the namespace exists); nil: such environments are refused.
	Cluster func(ctx context.Context, t stack.Target) error
}

// Prepare checks the daemon (and the environment's registry) first, then
// builds, pushes and pins the services' images as r asks, and returns what
// the engine is to run. Nothing is built or pushed when a check fails.
// With an environment that has a policy:, every image the stack runs is
// checked against it before Prepare returns (so before the daemon deploys
// anything) and, for ship, before any tag moves.
func (p *Pipeline) Prepare(ctx context.Context, st *stack.Stack, r Request) (model.StackSpec, error) {
	fromRegistry := r.Mode == Deploy && r.Tag != ""
	if (r.Mode == Deploy || r.Mode == Ship) && r.Tag != "" && r.Env == "" {
		what := "it names images in that environment's registry"
		if r.Mode == Ship {
			what = "ship pushes to that environment's registry (without --env images go to the local cache, untagged)"
		}
		return model.StackSpec{}, fmt.Errorf("--tag %s needs --env NAME: %s", r.Tag, what)
	}
	var target, cluster *stack.Target
	var targets map[string]stack.Target
	if r.Env != "" && r.Mode != Up && r.Targets != nil {
		var err error
		if targets, err = r.Targets(); err != nil {
			return model.StackSpec{}, err
		}
		// An environment that names a cluster must not quietly get the
		// local daemon instead.
		if t, ok := targets[r.Env]; ok && t.Kubernetes != nil {
			if p.Cluster == nil {
				return model.StackSpec{}, fmt.Errorf("environments.%s is a Kubernetes cluster (kubernetes:), which this command does not deploy to: write its manifests with `berth export --kubernetes -E %s --tag TAG`", r.Env, r.Env)
			}
			// A cluster pulls from a registry: nothing built into this
			// host's cache can run there.
			if svc := builtLocally(st); svc != "" && r.Mode == Deploy && r.Tag == "" {
				return model.StackSpec{}, fmt.Errorf("service %s is built from berth.yaml, and environments.%s is a Kubernetes cluster, which pulls images from a registry: ship it (berth ship -E %s --tag TAG) or deploy what the registry holds (berth deploy -E %s --tag TAG)", svc, r.Env, r.Env, r.Env)
			}
			cluster = &t
		}
	}
	if r.Env != "" && (r.Mode == Ship || fromRegistry) {
		purpose := "to ship to"
		if fromRegistry {
			purpose = "to deploy --tag from"
		}
		t, err := EnvTarget(targets, st.Files[0], r.Env, purpose)
		if err != nil {
			return model.StackSpec{}, err
		}
		target = &t
	}
	gate := p.gate(targets, r.Env)
	defer gate.Close() // the run's scanner session (one database open for every image)
	if gate != nil && target == nil {
		if svc := builtLocally(st); svc != "" {
			return model.StackSpec{}, fmt.Errorf("policy of environment %q: service %s is built locally, and a local build carries no signature or attestation the policy (%s) could check; ship it (berth ship -E %s) and deploy what the registry holds (berth deploy -E %s --tag TAG)",
				r.Env, svc, strings.Join(gate.Policy.Rules(), ", "), r.Env, r.Env)
		}
	}
	if cluster != nil {
		if err := p.Cluster(ctx, *cluster); err != nil {
			return model.StackSpec{}, fmt.Errorf("environments.%s: %w", r.Env, err)
		}
	} else if err := p.Daemon.Ping(ctx); err != nil {
		return model.StackSpec{}, err
	}
	if target != nil {
		if err := p.Registry.Ping(ctx, target.Registry); err != nil {
			return model.StackSpec{}, fmt.Errorf("environments.%s.registry %s: %w", r.Env, target.Registry, err)
		}
	}
	var err error
	switch {
	case fromRegistry:
		if err = p.pinTag(ctx, st, *target, r.Tag); err == nil && gate != nil {
			err = p.admit(ctx, st, gate)
		}
	case target != nil && (gate != nil || p.Policy.Signer != nil):
		tag := r.Tag
		if tag == "" {
			tag = "latest"
		}
		fmt.Fprintln(p.Progress, "building…")
		err = p.shipGated(ctx, st, *target, tag, gate)
	case target != nil:
		tag := r.Tag
		if tag == "" {
			tag = "latest"
		}
		fmt.Fprintln(p.Progress, "building…")
		err = p.build(ctx, st, func(image, variant string) (string, bool, error) {
			return target.Ref(image, VariantTag(tag, variant)), true, nil
		})
	default:
		if r.Mode == Ship {
			fmt.Fprintln(p.Progress, "building…")
		}
		if err = p.build(ctx, st, p.local); err == nil && gate != nil {
			err = p.admit(ctx, st, gate)
		}
	}
	if err != nil {
		return model.StackSpec{}, err
	}
	return enginespec.FromStack(st)
}

// local names where an image built for this host goes: the cache's
// stack-images layout, tagged IMAGE[-VARIANT].
func (p *Pipeline) local(image, variant string) (string, bool, error) {
	dir, err := p.LocalDir()
	if err != nil {
		return "", false, err
	}
	return imageref.LayoutPrefix + filepath.Join(dir, "stack-images") + ":" + VariantTag(image, variant), false, nil
}

// build builds the images services name with build: (each image and
// variant once), writes each to dest(image, variant) and points the
// services at it; a pushed image is pinned by digest (repository@digest),
// so what runs is exactly what was built.
func (p *Pipeline) build(ctx context.Context, st *stack.Stack, dest func(image, variant string) (ref string, pushed bool, err error)) error {
	return p.buildTo(ctx, st, dest, nil)
}

// buildTo is build; with pending set, a pushed image is written by digest
// only and its tag appended to *pending for the caller to move later.
func (p *Pipeline) buildTo(ctx context.Context, st *stack.Stack, dest func(image, variant string) (ref string, pushed bool, err error), pending *[]pendingTag) error {
	var b Builder
	built := map[string]string{} // image/variant → reference
	for i := range st.Services {
		s := &st.Services[i]
		if s.Build == nil || s.Image != "" && s.Build.Image == "" {
			continue
		}
		if s.Build.Image == "" {
			return fmt.Errorf("service %s: build: a Dockerfile context is not supported by berth up yet; build it with `berth build --dockerfile` and set image:", s.Name)
		}
		key := s.Build.Image + "/" + s.Build.Variant
		if ref, ok := built[key]; ok {
			s.Image = ref
			continue
		}
		if b == nil {
			var err error
			if b, err = p.Builder(); err != nil {
				return err
			}
		}
		img, err := b.Build(ctx, s.Build.Image, s.Build.Variant)
		if err != nil {
			return fmt.Errorf("service %s: %w", s.Name, err)
		}
		ref, pushed, err := dest(s.Build.Image, s.Build.Variant)
		if err != nil {
			return err
		}
		if pushed && pending != nil {
			d, err := img.Digest()
			if err != nil {
				return err
			}
			*pending = append(*pending, pendingTag{img: img, ref: ref})
			ref = RepoOf(ref) + "@" + d.String()
			if err := p.Registry.Write(ctx, img, ref); err != nil {
				return err
			}
			fmt.Fprintf(p.Progress, "pushed %s (by digest; tagged once the policy allows it)\n", ref)
		} else {
			if err := p.Registry.Write(ctx, img, ref); err != nil {
				return err
			}
			if pushed {
				d, err := img.Digest()
				if err != nil {
					return err
				}
				fmt.Fprintf(p.Progress, "pushed %s (%s)\n", ref, d)
				ref = RepoOf(ref) + "@" + d.String()
			}
		}
		// What went to a registry (ref: REPO@DIGEST) gets its SBOMs and
		// provenance before any policy looks for them.
		if pushed && p.Attester != nil {
			if err := Record(ctx, p.Attester, b, s.Build.Image, s.Build.Variant, img, ref, p.Progress); err != nil {
				return fmt.Errorf("service %s: %w", s.Name, err)
			}
		}
		built[key] = ref
		s.Image = ref
	}
	return nil
}

// pinTag points the services built from berth.yaml images at what the
// target's registry holds under tag (TAG-VARIANT for a variant), resolved
// here to its digest (REPO:TAG@DIGEST): nothing is built, and what runs is
// what the tag named when deploy started.
func (p *Pipeline) pinTag(ctx context.Context, st *stack.Stack, t stack.Target, tag string) error {
	resolved := map[string]string{}
	for i := range st.Services {
		s := &st.Services[i]
		if s.Build == nil || s.Build.Image == "" {
			continue
		}
		ref := t.Ref(s.Build.Image, VariantTag(tag, s.Build.Variant))
		if pinned, ok := resolved[ref]; ok {
			s.Image, s.Build = pinned, nil
			continue
		}
		d, err := p.Registry.Resolve(ctx, ref)
		if err != nil {
			return fmt.Errorf("service %s: %s: %w", s.Name, ref, err)
		}
		resolved[ref] = ref + "@" + d.String()
		s.Image, s.Build = resolved[ref], nil
	}
	return nil
}
