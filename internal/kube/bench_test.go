package kube

import (
	"fmt"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func stack50() (model.StackSpec, Options) {
	var svcs []model.ServiceSpec
	for i := range 25 {
		for _, s := range fullStack() {
			s.Name = fmt.Sprintf("%s-%d", s.Name, i)
			svcs = append(svcs, s)
		}
	}
	return model.StackSpec{Name: "shop", Services: svcs}, Options{ReadFile: func(p string) ([]byte, error) { return []byte(p), nil }, SecretValues: true}
}

// BenchmarkTranslate50 translates a 50-service stack (every mapping:
// ports, proxy hosts, volumes, secrets, configs, probes) into objects,
// validated. Budget (issue 12): ≤ 50 ms.
func BenchmarkTranslate50(b *testing.B) {
	spec, opts := stack50()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Translate(spec, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExport50 is BenchmarkTranslate50 plus the YAML encoding
// (berth export --kubernetes).
func BenchmarkExport50(b *testing.B) {
	spec, opts := stack50()
	b.ReportAllocs()
	for b.Loop() {
		r, err := Translate(spec, opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MarshalYAML(r.Objects); err != nil {
			b.Fatal(err)
		}
	}
}
