package kube

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/model"
)

// SecretsDir is where compose mounts a secret named by a plain file name.
const SecretsDir = "/run/secrets"

// storage adds a service's mounts, secrets and configs to its pod: named
// volumes are PersistentVolumeClaims (an external one must exist, the
// others are objects of the stack), anonymous volumes and tmpfs are
// emptyDirs (per pod, like berth's per container), secrets are Secrets,
// configs ConfigMaps, each mounted as one file (subPath) with compose's
// mode. It returns the data mounted (for the config hash) and whether the
// service writes a named volume.
func (t *translator) storage(svc model.ServiceSpec, pod *corev1.PodSpec, c *corev1.Container) (map[string][]byte, bool, error) {
	writable := false
	files := map[string][]byte{}
	for i, m := range svc.Mounts {
		field := fmt.Sprintf("volumes[%d]", i)
		vol := corev1.Volume{Name: fmt.Sprintf("vol-%d", i)}
		switch m.Type {
		case "volume":
			if m.Source == "" {
				vol.EmptyDir = &corev1.EmptyDirVolumeSource{}
				break
			}
			claim := dnsName(m.Source)
			if err := checkObjectName(claim); err != nil {
				return nil, false, fmt.Errorf("%s: volume %q: %w", field, m.Source, err)
			}
			vol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim, ReadOnly: m.ReadOnly}
			if !m.ReadOnly {
				writable = true
			}
			if err := t.claim(svc.Name, field, claim, m); err != nil {
				return nil, false, err
			}
		case "tmpfs":
			ed := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}
			if m.TmpfsSize > 0 {
				ed.SizeLimit = resource.NewQuantity(m.TmpfsSize, resource.BinarySI)
			}
			if m.TmpfsMode != 0 {
				t.warn(svc.Name, field+".tmpfs.mode", "%#o: an emptyDir's mode is the kubelet's (0777)", m.TmpfsMode)
			}
			vol.EmptyDir = ed
		case "bind":
			create := ""
			if m.CreateHostPath {
				create = ", created if missing,"
			}
			return nil, false, fmt.Errorf("%s: bind mount of host path %q%s: a node has no such path (use a named volume, or a config for a file)", field, m.Source, create)
		default:
			return nil, false, fmt.Errorf("%s: unknown mount type %q", field, m.Type)
		}
		pod.Volumes = append(pod.Volumes, vol)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol.Name, MountPath: m.Target, ReadOnly: m.ReadOnly})
	}
	var fsGroup *int64
	setGroup := func(field string, uid, gid uint32) error {
		g := int64(gid)
		if gid == 0 {
			g = int64(uid)
		}
		if g == 0 {
			return nil
		}
		if uid != 0 {
			t.warn(svc.Name, field+".uid", "%d: Kubernetes cannot own a mounted file by a uid; the file's group is the pod's fsGroup %d, which the containers' processes belong to", uid, g)
		}
		if fsGroup != nil && *fsGroup != g {
			return fmt.Errorf("%s: gid %d: a pod has one fsGroup and another file asks for %d", field, g, *fsGroup)
		}
		fsGroup = &g
		return nil
	}
	for i, s := range svc.Secrets {
		field := fmt.Sprintf("secrets[%d]", i)
		name := dnsName(s.Name)
		if err := checkObjectName(name); err != nil {
			return nil, false, fmt.Errorf("%s: secret %q: %w", field, s.Name, err)
		}
		target := s.Target
		if target == "" {
			target = s.Name
		}
		if !path.IsAbs(target) {
			target = path.Join(SecretsDir, target)
		}
		mode := int32(s.Mode)
		if mode == 0 {
			mode = model.DefaultSecretMode
		}
		if err := setGroup(field, s.UID, s.GID); err != nil {
			return nil, false, err
		}
		data, err := t.secret(svc.Name, field, name, s)
		if err != nil {
			return nil, false, err
		}
		if data != nil {
			files["secret/"+name] = data
		}
		vol := corev1.Volume{Name: fmt.Sprintf("secret-%d", i), VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, Items: []corev1.KeyToPath{{Key: configKey(s.Name), Path: configKey(s.Name), Mode: &mode}}}}}
		pod.Volumes = append(pod.Volumes, vol)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol.Name, MountPath: target, SubPath: configKey(s.Name), ReadOnly: true})
	}
	for i, cf := range svc.Configs {
		field := fmt.Sprintf("configs[%d]", i)
		name := dnsName(cf.Name)
		if err := checkObjectName(name); err != nil {
			return nil, false, fmt.Errorf("%s: config %q: %w", field, cf.Name, err)
		}
		mode := int32(cf.Mode)
		if mode == 0 {
			mode = model.DefaultConfigMode
		}
		if err := setGroup(field, cf.UID, cf.GID); err != nil {
			return nil, false, err
		}
		data, err := t.configMap(svc.Name, field, name, cf)
		if err != nil {
			return nil, false, err
		}
		files["config/"+name] = data
		vol := corev1.Volume{Name: fmt.Sprintf("config-%d", i), VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: []corev1.KeyToPath{{Key: configKey(cf.Name), Path: configKey(cf.Name), Mode: &mode}}}}}
		pod.Volumes = append(pod.Volumes, vol)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol.Name, MountPath: cf.Target, SubPath: configKey(cf.Name), ReadOnly: true})
	}
	if fsGroup != nil {
		pod.SecurityContext = &corev1.PodSecurityContext{FSGroup: fsGroup}
	}
	return files, writable, nil
}

// configKey is a ConfigMap/Secret data key: [-._a-zA-Z0-9]+.
func configKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}

// claim emits a named volume's PersistentVolumeClaim once (an external
// volume's claim must exist: it is referenced, not created).
func (t *translator) claim(service, field, claim string, m model.Mount) error {
	if m.External {
		t.warn(service, field, "external volume %q: the pod mounts the PersistentVolumeClaim %s, which must exist in the namespace", m.Source, claim)
		return nil
	}
	if done, err := once(t.volumes, claim, m.Source, "volumes"); done || err != nil {
		return err
	}
	size, err := resource.ParseQuantity(t.opts.VolumeSize)
	if err != nil {
		return fmt.Errorf("volume size %q: %w", t.opts.VolumeSize, err)
	}
	t.warn("", "volumes."+m.Source, "compose states no size: the PersistentVolumeClaim %s requests %s, ReadWriteOnce, from the default StorageClass", claim, t.opts.VolumeSize)
	t.objects = append(t.objects, &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: t.objectMeta(claim, ""),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	})
	return nil
}

// secret emits a secret's Secret once, with its value only when asked
// (Options.SecretValues); without, the Secret must be created by hand and
// a warning says so. It returns the value read (nil: none).
func (t *translator) secret(service, field, name string, s model.Secret) ([]byte, error) {
	done, err := once(t.secrets, name, s.Name, "secrets")
	if err != nil {
		return nil, err
	}
	if !t.opts.SecretValues || t.opts.ReadFile == nil {
		if !done {
			t.warn(service, field, "the value of secret %q is not written into the manifests: create the Secret %s with key %s (kubectl create secret generic %s --from-file=%s=FILE)", s.Name, name, configKey(s.Name), name, configKey(s.Name))
		}
		return nil, nil
	}
	data, err := t.opts.ReadFile(s.File)
	if err != nil {
		return nil, fmt.Errorf("%s: secret %s: %w", field, s.Name, err)
	}
	if !done {
		t.objects = append(t.objects, &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: t.objectMeta(name, ""),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{configKey(s.Name): data},
		})
	}
	return data, nil
}

// configMap emits a config's ConfigMap once: inline content, or the
// host file's (read with Options.ReadFile).
func (t *translator) configMap(service, field, name string, cf model.Config) ([]byte, error) {
	data := []byte(cf.Content)
	if cf.File != "" {
		if t.opts.ReadFile == nil {
			return nil, fmt.Errorf("%s: config %s: its file %s cannot be read here", field, cf.Name, cf.File)
		}
		var err error
		if data, err = t.opts.ReadFile(cf.File); err != nil {
			return nil, fmt.Errorf("%s: config %s: %w", field, cf.Name, err)
		}
	}
	done, err := once(t.configs, name, cf.Name, "configs")
	if err != nil {
		return nil, err
	}
	if !done {
		cm := &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: t.objectMeta(name, ""),
		}
		if utf8.Valid(data) {
			cm.Data = map[string]string{configKey(cf.Name): string(data)}
		} else {
			cm.BinaryData = map[string][]byte{configKey(cf.Name): data}
		}
		t.objects = append(t.objects, cm)
	}
	return data, nil
}

// once records that object name stands for source; done: it was already
// emitted. Two sources with one object name ("db_data" and "db-data") are
// an error.
func once(seen map[string]string, name, source, what string) (done bool, err error) {
	if prev, ok := seen[name]; ok {
		if prev != source {
			return true, fmt.Errorf("%s %q and %q both become the Kubernetes name %s: rename one", what, prev, source, name)
		}
		return true, nil
	}
	seen[name] = source
	return false, nil
}
