package kube

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RegistryAuth is one registry's credentials for pulling the stack's
// images (what `docker login` / the docker config holds for it).
type RegistryAuth struct {
	Username      string
	Password      string
	IdentityToken string
}

// dockerConfigJSON encodes auths as a kubernetes.io/dockerconfigjson
// Secret's .dockerconfigjson (the docker config file format).
func dockerConfigJSON(auths map[string]RegistryAuth) ([]byte, error) {
	type entry struct {
		Auth          string `json:"auth,omitempty"`
		IdentityToken string `json:"identitytoken,omitempty"`
	}
	out := struct {
		Auths map[string]entry `json:"auths"`
	}{Auths: map[string]entry{}}
	for host, a := range auths {
		if host == "" {
			return nil, fmt.Errorf("registry credentials without a registry host")
		}
		if a.Username == "" && a.Password == "" && a.IdentityToken == "" {
			continue
		}
		var e entry
		if a.Username != "" || a.Password != "" {
			e.Auth = base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))
		}
		e.IdentityToken = a.IdentityToken
		out.Auths[host] = e
	}
	if len(out.Auths) == 0 {
		return nil, nil
	}
	return json.Marshal(out)
}

// PullSecretName is the name of the stack's image pull Secret.
func PullSecretName(stack string) string { return stack + "-registry-auth" }

// pullSecret emits the stack's kubernetes.io/dockerconfigjson Secret from
// Options.PullAuth and returns its name ("" when there are no
// credentials). Without SecretValues (export) the Secret is not written —
// the manifests must carry no credentials — but the pods still name it
// and a warning says how to create it.
func (t *translator) pullSecret() (string, error) {
	data, err := dockerConfigJSON(t.opts.PullAuth)
	if err != nil || data == nil {
		return "", err
	}
	name := PullSecretName(t.stack)
	if !t.opts.SecretValues {
		hosts := make([]string, 0, len(t.opts.PullAuth))
		for h := range t.opts.PullAuth {
			hosts = append(hosts, h)
		}
		slices.Sort(hosts)
		t.warn("", "image", "the registry credentials for %v are not written into the manifests: create the Secret %s (kubectl create secret docker-registry %s …)", hosts, name, name)
		return name, nil
	}
	t.objects = append(t.objects, &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: t.objectMeta(name, ""),
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	})
	return name, nil
}
