package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/progress"
	"github.com/berth-dev/berth/internal/spec"
	"github.com/berth-dev/berth/internal/stack"
)

// Request is `berth promote`: IMAGE[:TAG|@DIGEST] (Arg) of berth.yaml
// File's images:, from environment From's registry to To's.
type Request struct {
	File     string
	Set      map[string]string
	Arg, Tag string // Tag: --tag, see ParseImageArg
	From, To string
	Insecure bool
	// Policy are the ports the target environment's policy: is checked
	// through (see internal/policy); the zero value refuses every image
	// when the target has a policy (fail closed).
	Policy   policy.Ports
	Progress progress.Func // see Options
}

// Check refuses a request that names no two environments or a bad image
// argument, before anything is read.
func (r Request) Check() error {
	if r.From == "" || r.To == "" {
		return errors.New("--from ENV and --to ENV are required")
	}
	if r.From == r.To {
		return fmt.Errorf("--from and --to are both %q; promote copies between two environments", r.From)
	}
	_, _, err := ParseImageArg(r.Arg, r.Tag)
	return err
}

// Output is `berth promote --json`: the result and the two environments.
type Output struct {
	Result
	From string `json:"from"`
	To   string `json:"to"`
}

// FromBerthfile promotes r's image between the registries the file's
// environments: name, returning the source reference and the result.
func FromBerthfile(ctx context.Context, r Request) (string, Result, error) {
	image, id, err := ParseImageArg(r.Arg, r.Tag)
	if err != nil {
		return "", Result{}, err
	}
	if err := stack.RefusePrinted(r.File); err != nil {
		return "", Result{}, err
	}
	f, err := spec.Load(r.File, spec.LoadOptions{Set: r.Set})
	if err != nil {
		return "", Result{}, err
	}
	if _, ok := f.Images[image]; !ok {
		return "", Result{}, fmt.Errorf("no image %q in %s's images: (known: %s)", image, r.File, strings.Join(f.ImageOrder, ", "))
	}
	targets, err := stack.LoadTargets(r.File, stack.LoadOptions{Set: r.Set})
	if err != nil {
		return "", Result{}, err
	}
	src, err := EnvTarget(targets, r.From, "--from")
	if err != nil {
		return "", Result{}, err
	}
	dst, err := EnvTarget(targets, r.To, "--to")
	if err != nil {
		return "", Result{}, err
	}
	dstID := id
	if strings.HasPrefix(id, "sha256:") && r.Tag != "" {
		dstID = r.Tag
	}
	gate := r.Policy.Gate(r.To, dst.Policy)
	defer gate.Close()
	res, err := Promote(ctx, Options{
		Src: src.Ref(image, id), Dst: dst.Ref(image, dstID), Insecure: r.Insecure,
		Record: Provenance{FromEnv: r.From, ToEnv: r.To},
		Gate:   gate, Progress: r.Progress,
	})
	return src.Ref(image, id), res, err
}

// Summary is promote's line of output: every blob is counted once, as
// copied (uploaded), mounted or already there; size formats byte counts.
func (res Result) Summary(src string, size func(int64) string) string {
	s := fmt.Sprintf("promoted %s → %s (%s): %d blobs copied (%s)", src, res.Dst, res.Digest, res.BlobsCopied, size(res.BytesCopied))
	if res.BlobsMounted > 0 {
		s += fmt.Sprintf(", %d mounted", res.BlobsMounted)
	}
	s += fmt.Sprintf(", %d already there", res.BlobsSkipped)
	if res.Referrers > 0 || len(res.TagArtifacts) > 0 {
		s += fmt.Sprintf("; evidence: %d referrers", res.Referrers)
		if len(res.TagArtifacts) > 0 {
			s += ", tags " + strings.Join(res.TagArtifacts, ", ")
		}
	}
	return s + fmt.Sprintf("; provenance recorded as %s", res.Provenance)
}
