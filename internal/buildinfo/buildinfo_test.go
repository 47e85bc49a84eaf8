package buildinfo

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestCurrent(t *testing.T) {
	v := Current("v1.2.3")
	if v.Version != "v1.2.3" || v.GoVersion != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Fatalf("Current = %+v", v)
	}
	if s := v.String(); s != "v1.2.3 ("+runtime.Version()+", "+runtime.GOOS+"/"+runtime.GOARCH+")" {
		t.Errorf("String = %q", s)
	}
	raw, err := json.Marshal(v)
	if err != nil || !strings.Contains(string(raw), `"goVersion":`) || !strings.Contains(string(raw), `"platform":`) {
		t.Errorf("JSON %s %v", raw, err)
	}
}
