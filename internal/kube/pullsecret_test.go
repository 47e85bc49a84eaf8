package kube

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestPullSecretFromRegistryCredentials(t *testing.T) {
	db := base()
	db.Name, db.Ports = "db", nil
	auth := map[string]RegistryAuth{
		"127.0.0.1:5000":  {Username: "ci", Password: "s3cret"},
		"ghcr.example.io": {IdentityToken: "tok"},
		"anon.example.io": {},
	}
	r := translate(t, Options{PullAuth: auth, SecretValues: true}, base(), db)
	s := find[*corev1.Secret](t, r, "Secret", "shop-registry-auth")
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("secret type %s", s.Type)
	}
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auths["127.0.0.1:5000"].Auth; got != base64.StdEncoding.EncodeToString([]byte("ci:s3cret")) {
		t.Errorf("auth of 127.0.0.1:5000 = %q", got)
	}
	if cfg.Auths["ghcr.example.io"].IdentityToken != "tok" {
		t.Errorf("identity token: %+v", cfg.Auths["ghcr.example.io"])
	}
	if _, ok := cfg.Auths["anon.example.io"]; ok || len(cfg.Auths) != 2 {
		t.Errorf("auths %v: want exactly the two registries with credentials", cfg.Auths)
	}
	if s.Labels[LabelStack] != "shop" {
		t.Errorf("pull secret not labelled with the stack (pruning): %v", s.Labels)
	}
	for _, name := range []string{"web", "db"} {
		d := find[*appsv1.Deployment](t, r, "Deployment", name)
		if ps := d.Spec.Template.Spec.ImagePullSecrets; len(ps) != 1 || ps[0].Name != "shop-registry-auth" {
			t.Errorf("Deployment %s imagePullSecrets = %v", name, ps)
		}
	}
}

func TestPullSecretExportWritesNoCredentials(t *testing.T) {
	r := translate(t, Options{PullAuth: map[string]RegistryAuth{"127.0.0.1:5000": {Username: "ci", Password: "s3cret"}}}, base())
	for _, o := range r.Objects {
		if o.GetObjectKind().GroupVersionKind().Kind == "Secret" {
			t.Fatalf("export wrote a Secret: %s", o.GetName())
		}
	}
	if !warned(r, "image") {
		t.Errorf("no warning telling to create the pull Secret: %v", r.Warnings)
	}
	d := find[*appsv1.Deployment](t, r, "Deployment", "web")
	if ps := d.Spec.Template.Spec.ImagePullSecrets; len(ps) != 1 || ps[0].Name != "shop-registry-auth" {
		t.Errorf("imagePullSecrets = %v", ps)
	}
	// Without credentials nothing is named.
	r = translate(t, Options{PullAuth: map[string]RegistryAuth{"x.example": {}}, SecretValues: true}, base())
	if ps := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec.ImagePullSecrets; ps != nil {
		t.Errorf("anonymous registries gave imagePullSecrets %v", ps)
	}
}
