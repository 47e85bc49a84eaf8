package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestContainerListFormats(t *testing.T) {
	cs := []Container{{Name: "shop-web-1", State: StateRunning}, {Name: "shop-job-1", State: StateExited}}
	short := func(s string) string { return s }
	write := func(l ContainerList) string {
		t.Helper()
		var b strings.Builder
		if err := l.Write(&b, cs, short); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := write(ContainerList{Quiet: true}); got != "shop-web-1\n" {
		t.Errorf("-q: %q", got)
	}
	if got := write(ContainerList{Quiet: true, All: true}); got != "shop-web-1\nshop-job-1\n" {
		t.Errorf("-q -a: %q", got)
	}
	var got []Container
	if err := json.Unmarshal([]byte(write(ContainerList{Format: "json"})), &got); err != nil || len(got) != 1 {
		t.Errorf("--format json: %v %v", got, err)
	}
	if err := json.Unmarshal([]byte(write(ContainerList{JSONAll: true})), &got); err != nil || len(got) != 2 {
		t.Errorf("--json: %v %v", got, err)
	}
	if table := write(ContainerList{Format: "table"}); !strings.HasPrefix(table, "NAME") || strings.Contains(table, "job") {
		t.Errorf("table: %q", table)
	}
	if err := (ContainerList{Format: "yaml"}).Check(); err == nil || !strings.Contains(err.Error(), `--format "yaml": want table or json`) {
		t.Errorf("Check: %v", err)
	}
}
