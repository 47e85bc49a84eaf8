package main

import (
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	got, err := parseScale([]string{"web=3", "worker=1"})
	if err != nil || got["web"] != 3 || got["worker"] != 1 || len(got) != 2 {
		t.Fatalf("parseScale: %v %v", got, err)
	}
	for arg, want := range map[string]string{
		"web":   "want SERVICE=N",
		"=2":    "want SERVICE=N",
		"web=x": "whole number",
		"web=0": "at least 1",
	} {
		if _, err := parseScale([]string{arg}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseScale(%q) = %v, want an error with %q", arg, err, want)
		}
	}
	if _, err := parseScale([]string{"web=1", "web=2"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate service: %v", err)
	}
}
