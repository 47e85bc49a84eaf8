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
	opens    int
	closes   int
	scanned  []string
	openErr  error
}

func (f *fakeScanner) Open(vex []string) (ScanSession, error) {
	f.opens++
	if f.openErr != nil {
		return nil, f.openErr
	}
	f.vex = vex
	return fakeSession{f}, nil
}

type fakeSession struct{ f *fakeScanner }

func (s fakeSession) Scan(_ context.Context, ref string) ([]Finding, error) {
	s.f.scanned = append(s.f.scanned, ref)
	return s.f.findings, nil
}

func (s fakeSession) Close() error {
	s.f.closes++
	return nil
}
