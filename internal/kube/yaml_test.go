package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

func TestMarshalYAML(t *testing.T) {
	r := translate(t, Options{Namespace: "prod"}, fullStack()...)
	y, err := MarshalYAML(r.Objects)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(y), "---\n")
	if len(docs) != len(r.Objects) {
		t.Fatalf("%d documents for %d objects", len(docs), len(r.Objects))
	}
	if strings.Contains(string(y), "creationTimestamp") || strings.Contains(string(y), "status:") {
		t.Error("creationTimestamp: null or status written")
	}
	// A document reads back as the object.
	for i, o := range r.Objects {
		if d, ok := o.(*appsv1.Deployment); ok {
			var back appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(docs[i]), &back); err != nil {
				t.Fatal(err)
			}
			if back.Name != d.Name || back.APIVersion != "apps/v1" || back.Kind != "Deployment" || *back.Spec.Replicas != *d.Spec.Replicas {
				t.Errorf("read back %+v", back.ObjectMeta)
			}
		}
	}
	files, err := Files(r.Objects)
	if err != nil || len(files) != len(r.Objects) {
		t.Fatalf("files %v %v", len(files), err)
	}
	if _, ok := files["00-configmap-pg-conf.yaml"]; !ok {
		t.Errorf("file names: %v", keys(files))
	}
}

func TestWriteDirAndStdout(t *testing.T) {
	r := translate(t, Options{}, base())
	dir := filepath.Join(t.TempDir(), "manifests")
	if err := Write(nil, dir, r.Objects); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 || ents[2].Name() != "02-deployment-web.yaml" {
		t.Errorf("files %v", ents)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "", r.Objects); err != nil || strings.Count(buf.String(), "\n---\n") != 2 {
		t.Errorf("stdout: %v\n%s", err, buf.String())
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
