package main

import (
	"io"
	"strings"
	"testing"
)

func TestReportTargets(t *testing.T) {
	r := report([]round{{ColdTotal: 10000, ColdAttach: 400, NoopTotal: 200, NoopAttach: 12, BerthSBOM: 300, SyftSBOM: 3000}}, true)
	if r.Missed || !strings.Contains(r.Markdown, "4.17%") || !strings.Contains(r.Markdown, "10.0× berth") {
		t.Errorf("report:\n%s", r.Markdown)
	}
	r = report([]round{{ColdTotal: 10000, ColdAttach: 900, NoopTotal: 200, NoopAttach: 30}}, false)
	if !r.Missed || strings.Count(r.Markdown, "MISS") != 2 || !strings.Contains(r.Markdown, "not installed") {
		t.Errorf("report:\n%s", r.Markdown)
	}
}

func TestParseFlags(t *testing.T) {
	if _, err := parseFlags([]string{"-rounds", "0"}, io.Discard); err == nil {
		t.Error("-rounds 0 accepted")
	}
	if o, err := parseFlags([]string{"-rounds", "2"}, io.Discard); err != nil || o.rounds != 2 {
		t.Errorf("%+v %v", o, err)
	}
}
