package remote

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/model"
)

// pullAuth looks up, in kc (the docker config keychain berth's pushes and
// promote use), the credentials of every registry the stack's images come
// from; registries with none (anonymous) are left out.
func pullAuth(spec model.StackSpec, kc authn.Keychain) (map[string]kube.RegistryAuth, error) {
	out := map[string]kube.RegistryAuth{}
	for _, svc := range spec.Services {
		ref, err := name.ParseReference(svc.Image, name.WeakValidation)
		if err != nil {
			return nil, fmt.Errorf("service %s: image %q: %v", svc.Name, svc.Image, err)
		}
		reg := ref.Context().Registry
		if _, done := out[reg.RegistryStr()]; done {
			continue
		}
		a, err := kc.Resolve(reg)
		if err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
		}
		if a == authn.Anonymous {
			continue
		}
		cfg, err := a.Authorization()
		if err != nil {
			return nil, fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
		}
		if cfg.Username == "" && cfg.Password == "" && cfg.IdentityToken == "" && cfg.Auth == "" {
			continue
		}
		ra := kube.RegistryAuth{Username: cfg.Username, Password: cfg.Password, IdentityToken: cfg.IdentityToken}
		if cfg.Auth != "" && ra.Username == "" {
			// A docker config's "auth" is base64(user:password).
			u, p, err := splitAuth(cfg.Auth)
			if err != nil {
				return nil, fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
			}
			ra.Username, ra.Password = u, p
		}
		out[reg.RegistryStr()] = ra
	}
	return out, nil
}

func splitAuth(auth string) (user, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", fmt.Errorf("auth is not base64: %v", err)
	}
	u, p, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", fmt.Errorf("auth is not user:password")
	}
	return u, p, nil
}
