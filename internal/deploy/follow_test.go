package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/model"
)

func TestFollowShowsProgressReportAndFailure(t *testing.T) {
	lines := []StreamLine{
		{Event: &Event{Service: "web", Revision: 2, Kind: "healthy"}},
		{Report: &Report{Stack: "shop", Services: []ServiceResult{{Service: "web"}}}, Failed: "web: rolled back"},
	}
	send := func(fn func(StreamLine) error) error {
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	}
	var out, errOut strings.Builder
	err := Follow(send, &out, &errOut, false, func(s string) string { return s })
	if err == nil || err.Error() != "web: rolled back" {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(errOut.String(), "web rev 2: healthy") || !strings.Contains(errOut.String(), "took ") {
		t.Errorf("stderr: %q", errOut.String())
	}
	if !strings.Contains(out.String(), "web") {
		t.Errorf("stdout: %q", out.String())
	}

	out.Reset()
	errOut.Reset()
	_ = Follow(send, &out, &errOut, true, nil)
	var doc struct {
		Stack string `json:"stack"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil || doc.Stack != "shop" || doc.Error != "web: rolled back" {
		t.Errorf("json %q: %+v %v", out.String(), doc, err)
	}

	boom := errors.New("no daemon")
	if err := Follow(func(func(StreamLine) error) error { return boom }, &out, &errOut, false, nil); err != boom {
		t.Errorf("send error: %v", err)
	}
}

// fakeStreamer records what it was asked and streams one report.
type fakeStreamer struct{ got string }

func (f *fakeStreamer) Deploy(_ context.Context, req Request, fn func(StreamLine) error) error {
	f.got = "deploy " + req.Spec.Name
	return fn(StreamLine{Report: &Report{Stack: req.Spec.Name}})
}

func (f *fakeStreamer) Rollback(_ context.Context, stack, service string, to int, fn func(StreamLine) error) error {
	f.got = fmt.Sprintf("rollback %s %s %d", stack, service, to)
	return fn(StreamLine{Report: &Report{Stack: stack}})
}

// TestFollowDeployAndRollback: berth deploy/ship and rollback follow
// the backend's stream of the call they ask for.
func TestFollowDeployAndRollback(t *testing.T) {
	var f fakeStreamer
	var out, errOut strings.Builder
	req := Request{Spec: model.StackSpec{Name: "shop"}}
	if err := FollowDeploy(context.Background(), &f, req, &out, &errOut, true, nil); err != nil || f.got != "deploy shop" || !strings.Contains(out.String(), `"shop"`) {
		t.Errorf("FollowDeploy: %v, asked %q, printed %q", err, f.got, out.String())
	}
	out.Reset()
	if err := FollowRollback(context.Background(), &f, "shop", "web", 3, &out, &errOut, true, nil); err != nil || f.got != "rollback shop web 3" || !strings.Contains(out.String(), `"shop"`) {
		t.Errorf("FollowRollback: %v, asked %q, printed %q", err, f.got, out.String())
	}
}

// TestShowHistory: JSON with asJSON (null for none, as before), a note
// on stderr for no revisions, else the table.
func TestShowHistory(t *testing.T) {
	var out, errOut strings.Builder
	if err := ShowHistory(&out, &errOut, "shop", "web", nil, false, nil); err != nil || out.Len() != 0 ||
		errOut.String() != "no revisions of web in stack shop yet (berth deploy records them)\n" {
		t.Errorf("empty: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	errOut.Reset()
	if err := ShowHistory(&out, &errOut, "shop", "web", nil, true, nil); err != nil || out.String() != "null\n" || errOut.Len() != 0 {
		t.Errorf("empty JSON: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	out.Reset()
	h := []HistoryEntry{{Revision: Revision{Number: 1, Outcome: "succeeded"}, Current: true}}
	if err := ShowHistory(&out, &errOut, "shop", "web", h, false, func(s string) string { return s }); err != nil ||
		!strings.Contains(out.String(), "REVISION") || !strings.Contains(out.String(), "succeeded") {
		t.Errorf("table: %v, stdout %q", err, out.String())
	}
}
