package release

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/stack"
)

// PolicyPorts are what an environment's policy: is evaluated through
// (internal/policy's ports): the signature verifier, the attestation
// finder, the scanner, and the signer ship signs with before the gate when
// a key was given. A nil port whose rule an environment sets refuses every
// image (fail closed); the zero value suits environments without a policy.
type PolicyPorts struct {
	policy.Ports
	// Signer is set when ship was given a signing key (--key /
	// BERTH_SIGNING_KEY); nil: ship does not sign.
	Signer policy.Signer
}

// gate returns the gate of environment env when it has a policy, nil
// otherwise (no environment, or no policy: set).
func (p *Pipeline) gate(targets map[string]stack.Target, env string) *policy.Gate {
	t, ok := targets[env]
	if !ok {
		return nil
	}
	return p.Policy.Gate(env, t.Policy)
}

// builtLocally names a service built from berth.yaml's images:, if any:
// such an image goes to the local cache, where it carries no signature or
// attestation a policy could check.
func builtLocally(st *stack.Stack) string {
	for _, s := range st.Services {
		if s.Build != nil && s.Build.Image != "" {
			return s.Name
		}
	}
	return ""
}

// DigestRef strips the tag of a pinned reference: REPO:TAG@DIGEST →
// REPO@DIGEST, what the policy checks (signatures are of digests).
func DigestRef(ref string) string {
	name, d, ok := strings.Cut(ref, "@")
	if !ok {
		return ref
	}
	return RepoOf(name) + "@" + d
}

// admit evaluates the gate for every image st's services run, before
// anything changes: an image given by tag (image: postgres:16) is resolved
// and pinned to the digest checked (REPO:TAG@DIGEST), so what runs is what
// passed. Each image is checked once; the first refusal is returned.
func (p *Pipeline) admit(ctx context.Context, st *stack.Stack, g *policy.Gate) error {
	checked := map[string]bool{}
	pinned := map[string]string{}
	for i := range st.Services {
		s := &st.Services[i]
		if s.Image == "" {
			continue
		}
		ref := s.Image
		if !strings.Contains(ref, "@") {
			if pinned[ref] == "" {
				d, err := p.Registry.Resolve(ctx, ref)
				if err != nil {
					return fmt.Errorf("service %s: %s: %w (the policy of environment %q checks images by digest)", s.Name, ref, err, g.Env)
				}
				pinned[ref] = ref + "@" + d.String()
			}
			ref = pinned[ref]
			s.Image = ref
		}
		dr := DigestRef(ref)
		if checked[dr] {
			continue
		}
		if err := g.Check(ctx, dr); err != nil {
			return err
		}
		checked[dr] = true
		fmt.Fprintf(p.Progress, "policy of environment %q: %s allowed (%s)\n", g.Env, dr, strings.Join(g.Policy.Rules(), ", "))
	}
	return nil
}

// pendingTag is a tag ship moves only once the gate allowed every image.
type pendingTag struct {
	img v1.Image
	ref string // REPO:TAG
}

// shipGated is ship --env to an environment with a policy, or with a
// signing key: build each image and push it by digest only (no tag moves),
// sign it when a signer is set, check the gate (g; nil: no policy) for
// every image the stack runs, and only then move the tags. A refusal leaves
// every tag of the environment where it was.
func (p *Pipeline) shipGated(ctx context.Context, st *stack.Stack, t stack.Target, tag string, g *policy.Gate) error {
	var pending []pendingTag
	err := p.buildTo(ctx, st, func(image, variant string) (string, bool, error) {
		return t.Ref(image, VariantTag(tag, variant)), true, nil
	}, &pending)
	if err != nil {
		return err
	}
	if p.Policy.Signer != nil {
		for _, pt := range pending {
			d, err := pt.img.Digest()
			if err != nil {
				return err
			}
			ref := RepoOf(pt.ref) + "@" + d.String()
			if err := p.Policy.Signer.Sign(ctx, ref); err != nil {
				return fmt.Errorf("signing %s: %w", ref, err)
			}
			fmt.Fprintf(p.Progress, "signed %s\n", ref)
		}
	}
	if g != nil {
		if err := p.admit(ctx, st, g); err != nil {
			return err
		}
	}
	for _, pt := range pending {
		if err := p.Registry.Write(ctx, pt.img, pt.ref); err != nil {
			return err
		}
		fmt.Fprintf(p.Progress, "tagged %s\n", pt.ref)
	}
	return nil
}
