package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/progress"
)

func TestPullOutput(t *testing.T) {
	stream := []PullEvent{
		{Status: "pulling", Ref: "alpine:3.20"},
		{Status: "progress", Ref: "alpine:3.20", Progress: &progress.Event{Action: "pull", Digest: "sha256:l", Bytes: 5, Total: 5, Status: progress.Done}},
		{Status: "pulled", Ref: "alpine:3.20", Digest: "sha256:d"},
	}
	run := func(o PullOutput) (string, []progress.Event) {
		var b strings.Builder
		var evs []progress.Event
		o.W, o.Progress = &b, func(e progress.Event) { evs = append(evs, e) }
		for _, ev := range stream {
			if err := o.Event(ev); err != nil {
				t.Fatal(err)
			}
		}
		return b.String(), evs
	}
	if out, evs := run(PullOutput{}); out != "Pulling alpine:3.20\nPulled alpine:3.20\nDigest: sha256:d\n" || len(evs) != 1 || evs[0].Digest != "sha256:l" {
		t.Errorf("text: %q, progress %v", out, evs)
	}
	if out, _ := run(PullOutput{Quiet: true}); out != "sha256:d\n" {
		t.Errorf("-q: %q", out)
	}
	out, evs := run(PullOutput{JSON: true})
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("--json printed %q: %v", out, err)
	}
	if got["status"] != "pulled" || got["ref"] != "alpine:3.20" || got["digest"] != "sha256:d" || len(got) != 3 || len(evs) != 1 {
		t.Errorf("--json: %v (progress %v)", got, evs)
	}
}
