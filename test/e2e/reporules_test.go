package e2e

import (
	"strings"
	"testing"
)

// repoRulesConfig makes prod/** signed-pull-only with immutable tags.
const repoRulesConfig = `repositories:
  - match: ["prod/**"]
    immutableTags: true
    requireSignature: true
`

// TestRepositoryRulesRealClients: with berth-registry.yaml's repository
// rules, crane, regctl and skopeo pulling an unsigned image by tag get the
// registry's DENIED error, shown to the user with its message; by digest
// they get it; once cosign's sha256-<hex>.sig tag exists the tag pulls; and
// pushing another image under an existing tag is refused (the tag keeps its
// digest) while the same image again is fine.
func TestRepositoryRulesRealClients(t *testing.T) {
	t.Parallel()
	if suite.kind != kindBerth {
		t.Skip("repository rules are berth's")
	}
	requireTools(t, "crane", "regctl", "skopeo")
	reg := startRegistry(t, withBerthConfig(repoRulesConfig))
	src := reg.Ref("prod/app:v1")
	img := pushFixture(t, src)
	byDigest := refWithDigest(src, img.ManifestDigest)
	const denied = "has no signature"

	if r := runEnv(t, nil, "crane", "manifest", src); r.Err == nil || !strings.Contains(r.Stderr, "DENIED") || !strings.Contains(r.Stderr, denied) {
		t.Errorf("crane manifest by tag of an unsigned image: err %v, stderr %s", r.Err, r.Stderr)
	} else {
		t.Logf("crane manifest %s: %s", src, strings.TrimSpace(r.Stderr))
	}
	if r := runEnv(t, nil, "crane", "pull", src, t.TempDir()+"/x.tar"); r.Err == nil || !strings.Contains(r.Stderr, denied) {
		t.Errorf("crane pull by tag: err %v, stderr %s", r.Err, r.Stderr)
	}
	env := regctlEnv(t)
	mustRunEnv(t, env, "regctl", "registry", "set", reg.Host, "--tls", "disabled")
	if r := runEnv(t, env, "regctl", "manifest", "get", src); r.Err == nil || !strings.Contains(r.Stderr+r.Stdout, denied) {
		t.Errorf("regctl manifest get by tag: err %v, stderr %s", r.Err, r.Stderr)
	}
	sk := newSkopeo(t)
	if r := runEnv(t, nil, "skopeo", "--policy", sk.policy, "inspect", "--tls-verify=false", "docker://"+src); r.Err == nil || !strings.Contains(r.Stderr, "denied") {
		t.Errorf("skopeo inspect by tag: err %v, stderr %s", r.Err, r.Stderr)
	}

	// By digest: what signing tools fetch.
	expectBytes(t, "crane manifest by digest", []byte(mustRun(t, "crane", "manifest", byDigest)), img.Manifest)

	// Pushing another image under v1 is refused; v1 keeps its digest.
	other := reg.Ref("prod/app:v2")
	otherDigest := strings.TrimPrefix(lastLine(mustRun(t, "crane", "mutate", byDigest, "--label", "e2e=other", "-t", other)), reg.Ref("prod/app@"))
	if r := runEnv(t, nil, "crane", "tag", reg.Ref("prod/app@")+otherDigest, "v1"); r.Err == nil || !strings.Contains(r.Stderr, "immutable") {
		t.Errorf("crane tag moving v1: err %v, stderr %s", r.Err, r.Stderr)
	}
	if r := runEnv(t, nil, "crane", "copy", reg.Ref("prod/app@")+otherDigest, src); r.Err == nil || !strings.Contains(r.Stderr, "tag prod/app:v1 is immutable") {
		t.Errorf("crane copy onto v1: err %v, stderr %s", r.Err, r.Stderr)
	} else {
		t.Logf("crane copy onto %s: %s", src, strings.TrimSpace(r.Stderr))
	}
	mustRun(t, "crane", "push", img.Layout, src) // the same image again

	// A legacy cosign signature tag makes v1 pullable by tag.
	sigTag := reg.Ref("prod/app:sha256-" + img.ManifestDigest.Encoded() + ".sig")
	mustRun(t, "crane", "copy", reg.Ref("prod/app@")+otherDigest, sigTag)
	expectBytes(t, "crane manifest by tag once signed", []byte(mustRun(t, "crane", "manifest", src)), img.Manifest)
	mustRunEnv(t, env, "regctl", "manifest", "get", src)
	sk.run(t, "inspect", "--tls-verify=false", "docker://"+src)
}
