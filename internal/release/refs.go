package release

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/stack"
)

// VariantTag is the tag a variant of an image is pushed under: TAG-VARIANT
// (ship) and looked up under (deploy --tag).
func VariantTag(tag, variant string) string {
	if variant == "" {
		return tag
	}
	return tag + "-" + variant
}

// RepoOf strips a reference's tag (registry/repo:tag → registry/repo).
func RepoOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// EnvTarget is where environment env's images live (environments: NAME:
// registry, repository), read from file; purpose ends the error when it
// has no registry.
func EnvTarget(targets map[string]stack.Target, file, env, purpose string) (stack.Target, error) {
	t, ok := targets[env]
	if !ok || t.Registry == "" {
		return stack.Target{}, fmt.Errorf("%s: environments.%s has no registry: %s", file, env, purpose)
	}
	return t, nil
}

// SelectService narrows a deploy to service name of st and, when image is
// set, makes it run image instead of the file's (deploy SERVICE --image).
func SelectService(st *stack.Stack, name, image string) error {
	svc := st.Service(name)
	if svc == nil {
		var names []string
		for _, s := range st.Services {
			names = append(names, s.Name)
		}
		return fmt.Errorf("%s has no service %q (services: %s)", st.Files[0], name, strings.Join(names, ", "))
	}
	if image != "" {
		svc.Image, svc.Build = image, nil
	}
	return nil
}
