package remote

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-dev/berth/internal/kube"
	"github.com/berth-dev/berth/internal/model"
)

// keychain answers from a map by registry host; others are anonymous.
type keychain map[string]authn.AuthConfig

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}

func TestPullAuthFromKeychain(t *testing.T) {
	spec := model.StackSpec{Name: "shop", Services: []model.ServiceSpec{
		{Name: "web", Image: "127.0.0.1:5000/shop/web@sha256:" + strings.Repeat("a", 64)},
		{Name: "worker", Image: "127.0.0.1:5000/shop/worker:1.0"},
		{Name: "cache", Image: "public.example.io/redis:7"},
		{Name: "db", Image: "private.example.io/pg:16"},
	}}
	kc := keychain{
		"127.0.0.1:5000":     {Username: "ci", Password: "pw"},
		"private.example.io": {Auth: base64.StdEncoding.EncodeToString([]byte("robot:tok:en"))},
	}
	got, err := pullAuth(spec, kc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]kube.RegistryAuth{
		"127.0.0.1:5000":     {Username: "ci", Password: "pw"},
		"private.example.io": {Username: "robot", Password: "tok:en"},
	}
	if len(got) != len(want) {
		t.Fatalf("pullAuth = %v, want %v", got, want)
	}
	for h, w := range want {
		if got[h] != w {
			t.Errorf("%s: %+v, want %+v", h, got[h], w)
		}
	}
	spec.Services = append(spec.Services, model.ServiceSpec{Name: "bad", Image: "UPPER CASE"})
	if _, err := pullAuth(spec, kc); err == nil || !strings.Contains(err.Error(), "service bad") {
		t.Errorf("bad image: %v", err)
	}
	kc["private.example.io"] = authn.AuthConfig{Auth: "%%%"}
	spec.Services = spec.Services[:4]
	if _, err := pullAuth(spec, kc); err == nil || !strings.Contains(err.Error(), "private.example.io") {
		t.Errorf("corrupt auth: %v", err)
	}
}
