package kube

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/model"
)

func TestVolumesAreClaims(t *testing.T) {
	s := base()
	s.Mounts = []model.Mount{{Type: "volume", Source: "shop_data", Target: "/data"}, {Type: "volume", Target: "/cache"},
		{Type: "tmpfs", Target: "/tmp", TmpfsSize: 64 << 20, TmpfsMode: 0o700}, {Type: "volume", Source: "shared", Target: "/shared", External: true, ReadOnly: true}}
	r := translate(t, Options{}, s)
	pvc := find[*corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim", "shop-data")
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1Gi" || pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("PVC %+v", pvc.Spec)
	}
	pod := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec
	if pod.Volumes[0].PersistentVolumeClaim.ClaimName != "shop-data" || pod.Volumes[1].EmptyDir == nil || pod.Volumes[2].EmptyDir.Medium != corev1.StorageMediumMemory ||
		pod.Volumes[2].EmptyDir.SizeLimit.String() != "64Mi" || pod.Volumes[3].PersistentVolumeClaim.ClaimName != "shared" {
		t.Errorf("volumes %+v", pod.Volumes)
	}
	if pod.Containers[0].VolumeMounts[3].MountPath != "/shared" || !pod.Containers[0].VolumeMounts[3].ReadOnly {
		t.Errorf("mounts %+v", pod.Containers[0].VolumeMounts)
	}
	for _, o := range r.Objects {
		if o.GetName() == "shared" {
			t.Error("an external volume's claim is created")
		}
	}
	if !warned(r, "volumes[2].tmpfs.mode") || !warned(r, "volumes[3]") || !warned(r, "volumes.shop_data") {
		t.Errorf("warnings %v", r.Warnings)
	}
	s.Mounts = []model.Mount{{Type: "bind", Source: "/srv/data", Target: "/data"}}
	if _, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{s}}, Options{}); err == nil || !strings.Contains(err.Error(), `volumes[0]: bind mount of host path "/srv/data"`) {
		t.Errorf("bind: %v", err)
	}
}

// A secret is a file at /run/secrets/NAME with compose's mode, readable
// by a non-root user through the pod's fsGroup.
func TestSecretsAndConfigs(t *testing.T) {
	s := base()
	s.User = "999:999"
	s.Secrets = []model.Secret{{Name: "db_password", File: "/s/pw", UID: 999, GID: 999, Mode: 0o440}, {Name: "api", Target: "/etc/api.key", File: "/s/api"}}
	s.Configs = []model.Config{{Name: "app.conf", Target: "/etc/app.conf", File: "/c/app.conf", Mode: 0o400}}
	read := func(p string) ([]byte, error) { return []byte("value of " + p), nil }
	r := translate(t, Options{ReadFile: read}, s)
	pod := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec
	m := pod.Containers[0].VolumeMounts
	if m[0].MountPath != "/run/secrets/db_password" || m[0].SubPath != "db_password" || !m[0].ReadOnly || m[1].MountPath != "/etc/api.key" {
		t.Errorf("secret mounts %+v", m)
	}
	if it := pod.Volumes[0].Secret.Items[0]; pod.Volumes[0].Secret.SecretName != "db-password" || *it.Mode != 0o440 || *pod.Volumes[1].Secret.Items[0].Mode != 0o400 {
		t.Errorf("secret volume %+v", pod.Volumes[0])
	}
	if *pod.SecurityContext.FSGroup != 999 || !warned(r, "secrets[0].uid") {
		t.Errorf("fsGroup %+v, warnings %v", pod.SecurityContext, r.Warnings)
	}
	// Without SecretValues no value is written, and a warning says what to create.
	for _, o := range r.Objects {
		if _, ok := o.(*corev1.Secret); ok {
			t.Errorf("secret %s written without SecretValues", o.GetName())
		}
	}
	if !warned(r, "secrets[0]") {
		t.Errorf("warnings %v", r.Warnings)
	}
	cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "app.conf")
	if cm.Data["app.conf"] != "value of /c/app.conf" || *pod.Volumes[2].ConfigMap.Items[0].Mode != 0o400 || m[2].MountPath != "/etc/app.conf" {
		t.Errorf("config %+v", cm)
	}
	r = translate(t, Options{ReadFile: read, SecretValues: true}, s)
	if sec := find[*corev1.Secret](t, r, "Secret", "db-password"); string(sec.Data["db_password"]) != "value of /s/pw" {
		t.Errorf("secret %+v", sec)
	}
	// Two gids for one pod cannot both be its fsGroup.
	s.Configs[0].GID = 1000
	if _, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{s}}, Options{ReadFile: read}); err == nil || !strings.Contains(err.Error(), "configs[0]: gid 1000") {
		t.Errorf("fsGroup conflict: %v", err)
	}
	s.Configs[0].GID = 0
	_, err := Translate(model.StackSpec{Name: "shop", Services: []model.ServiceSpec{s}}, Options{ReadFile: func(string) ([]byte, error) { return nil, errors.New("boom") }})
	if err == nil || !strings.Contains(err.Error(), "configs[0]: config app.conf: boom") {
		t.Errorf("unreadable config: %v", err)
	}
}

// Two services mounting one volume, secret or config share one object.
func TestSharedObjectsOnce(t *testing.T) {
	a, b := base(), base()
	b.Name = "worker"
	for _, s := range []*model.ServiceSpec{&a, &b} {
		s.Mounts = []model.Mount{{Type: "volume", Source: "data", Target: "/data", ReadOnly: true}}
		s.Configs = []model.Config{{Name: "c", Target: "/c", Content: "x"}}
	}
	r := translate(t, Options{}, a, b)
	n := 0
	for _, o := range r.Objects {
		if o.GetName() == "data" || o.GetName() == "c" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("objects %v", names(r))
	}
}
