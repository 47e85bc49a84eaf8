package policy

import "context"

type fakeVerifier struct {
	ok     bool
	detail string
	err    error
	got    []string
}

func (f *fakeVerifier) Verify(_ context.Context, ref string, _ []Key) (bool, string, error) {
	f.got = append(f.got, ref)
	return f.ok, f.detail, f.err
}

type fakeEvidence struct {
	ok    bool
	types []string
}

func (f *fakeEvidence) HasAttestation(_ context.Context, _ string, types []string) (bool, error) {
	f.types = types
	return f.ok, nil
}

type fakeScanner struct {
	findings []Finding
	vex      []string
}

func (f *fakeScanner) Scan(_ context.Context, _ string, vex []string) ([]Finding, error) {
	f.vex = vex
	return f.findings, nil
}
