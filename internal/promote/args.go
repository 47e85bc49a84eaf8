package promote

import (
	"fmt"
	"strings"

	"github.com/berth-dev/berth/internal/registry/names"
	"github.com/berth-dev/berth/internal/stack"
)

// ParseImageArg splits IMAGE[:TAG|@DIGEST] into the image name and what
// to promote: flagTag, else the tag in IMAGE, else "latest"; or the digest.
func ParseImageArg(arg, flagTag string) (image, id string, err error) {
	image = arg
	if name, d, ok := strings.Cut(arg, "@"); ok {
		if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 || strings.Trim(d[len("sha256:"):], "0123456789abcdef") != "" {
			return "", "", fmt.Errorf("%s: %q is not a digest (sha256: and 64 lower-case hex digits)", arg, d)
		}
		image, id = name, d
	} else if name, t, ok := strings.Cut(arg, ":"); ok {
		if t == "" {
			return "", "", fmt.Errorf("%s: empty tag after ':'", arg)
		}
		image, id = name, t
	}
	if image == "" {
		return "", "", fmt.Errorf("%q: missing image name (want IMAGE[:TAG|@DIGEST], IMAGE a name of images:)", arg)
	}
	if flagTag != "" {
		if err := names.ValidateTag(flagTag); err != nil {
			return "", "", fmt.Errorf("--tag: %v", err)
		}
	}
	if !strings.HasPrefix(id, "sha256:") {
		switch {
		case flagTag != "":
			id = flagTag
		case id == "":
			id = "latest"
		}
		if err := names.ValidateTag(id); err != nil {
			return "", "", fmt.Errorf("%s: %v", arg, err)
		}
	}
	return image, id, nil
}

// EnvTarget returns environment env's target, which must have a registry.
func EnvTarget(targets map[string]stack.Target, env, flag string) (stack.Target, error) {
	t, ok := targets[env]
	if !ok {
		return t, fmt.Errorf("%s %s: unknown environment %q (%s)", flag, env, env, stack.KnownEnvironments(targets))
	}
	if t.Registry == "" {
		return t, fmt.Errorf("%s %s: environment %q has no registry (set environments.%s.registry: HOST[:PORT] in berth.yaml)", flag, env, env, env)
	}
	return t, nil
}
