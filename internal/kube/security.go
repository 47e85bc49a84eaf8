package kube

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/berth-dev/berth/internal/model"
)

// dockerCapabilities is Docker's default capability set, which berth's
// engine grants (internal/engine/runtime): the container drops ALL and
// adds these back, so a cluster whose runtime grants more grants no more.
var dockerCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
	"SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
}

// securityContext is berth's engine's: no privilege escalation, the
// runtime's default seccomp profile, Docker's capabilities (with cap_add
// and cap_drop), read_only, and user as numeric ids.
func (t *translator) securityContext(svc model.ServiceSpec) (*corev1.SecurityContext, error) {
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		ReadOnlyRootFilesystem:   new(svc.ReadOnly),
	}
	caps, err := capabilities(svc.CapAdd, svc.CapDrop)
	if err != nil {
		return nil, err
	}
	sc.Capabilities = caps
	if svc.User != "" {
		uid, gid, err := numericUser(svc.User)
		if err != nil {
			return nil, err
		}
		sc.RunAsUser = &uid
		if gid >= 0 {
			sc.RunAsGroup = &gid
		}
	}
	return sc, nil
}

// numericUser parses user: "UID" or "UID:GID" (gid -1: not given).
func numericUser(u string) (uid, gid int64, err error) {
	us, gs, hasG := strings.Cut(u, ":")
	uid, err = strconv.ParseInt(us, 10, 64)
	if err != nil || uid < 0 || uid > math.MaxUint32-1 {
		return 0, 0, fmt.Errorf("user %q: Kubernetes runs containers as numeric ids only (runAsUser); write the image's uid, e.g. user: \"65532:65532\"", u)
	}
	gid = -1
	if hasG {
		gid, err = strconv.ParseInt(gs, 10, 64)
		if err != nil || gid < 0 || gid > math.MaxUint32-1 {
			return 0, 0, fmt.Errorf("user %q: group %q is not a numeric id (runAsGroup); write e.g. user: \"65532:65532\"", u, gs)
		}
	}
	return uid, gid, nil
}

// capabilities: drop ALL, add Docker's defaults + cap_add - cap_drop.
func capabilities(add, drop []string) (*corev1.Capabilities, error) {
	norm := func(field string, in []string) ([]string, error) {
		var out []string
		for _, c := range in {
			n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
			if n == "" || strings.IndexFunc(n, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == '_') }) >= 0 {
				return nil, fmt.Errorf("%s: %q is not a capability name", field, c)
			}
			out = append(out, n)
		}
		return out, nil
	}
	a, err := norm("cap_add", add)
	if err != nil {
		return nil, err
	}
	d, err := norm("cap_drop", drop)
	if err != nil {
		return nil, err
	}
	keep := slices.Clone(dockerCapabilities)
	if slices.Contains(d, "ALL") {
		keep = nil
	}
	keep = slices.DeleteFunc(keep, func(c string) bool { return slices.Contains(d, c) })
	if slices.Contains(a, "ALL") {
		keep = []string{"ALL"}
	} else {
		for _, c := range a {
			if !slices.Contains(keep, c) {
				keep = append(keep, c)
			}
		}
	}
	slices.Sort(keep)
	caps := &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	for _, c := range keep {
		caps.Add = append(caps.Add, corev1.Capability(c))
	}
	return caps, nil
}

// resources: mem_limit and cpus are limits (requests default to them).
func resources(svc model.ServiceSpec) (corev1.ResourceRequirements, error) {
	var r corev1.ResourceRequirements
	if svc.MemoryBytes < 0 || svc.CPUs < 0 || math.IsNaN(svc.CPUs) || math.IsInf(svc.CPUs, 0) {
		return r, fmt.Errorf("resources: negative or invalid limit (memory %d, cpus %g)", svc.MemoryBytes, svc.CPUs)
	}
	if svc.MemoryBytes == 0 && svc.CPUs == 0 {
		return r, nil
	}
	r.Limits = corev1.ResourceList{}
	if svc.MemoryBytes > 0 {
		r.Limits[corev1.ResourceMemory] = *resource.NewQuantity(svc.MemoryBytes, resource.BinarySI)
	}
	if svc.CPUs > 0 {
		m := int64(math.Ceil(svc.CPUs * 1000))
		if m > math.MaxInt32 {
			return r, fmt.Errorf("cpus %g: too large", svc.CPUs)
		}
		r.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(m, resource.DecimalSI)
	}
	return r, nil
}
