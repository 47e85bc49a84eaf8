package deploy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
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
