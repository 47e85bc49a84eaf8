package build

import (
	"strings"
	"testing"
)

func TestReportLines(t *testing.T) {
	w := Written{Name: "app", Result: &Result{Digest: "sha256:ab"}, Destination: "oci-layout:/out:app"}
	for _, c := range []struct {
		r       Report
		variant string
		w       Written
		want    string
	}{
		{Report{}, "", w, "app sha256:ab -> oci-layout:/out:app\n"},
		{Report{}, "dev", Written{Name: "app", Result: w.Result}, "app (dev) sha256:ab\n"},
		{Report{Quiet: true}, "dev", w, "sha256:ab\n"},
		{Report{JSON: true}, "", w, ""},
	} {
		var b strings.Builder
		c.r.writeLine(&b, c.w, c.variant)
		if b.String() != c.want {
			t.Errorf("%+v %q: %q, want %q", c.r, c.variant, b.String(), c.want)
		}
	}
}
