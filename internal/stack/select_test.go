package stack

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestSelectFollowsDependsOn(t *testing.T) {
	dir := write(t, map[string]string{"compose.yaml": `services:
  web:
    image: busybox:1
    depends_on: [api]
  api:
    image: busybox:1
    depends_on:
      db:
        condition: service_started
  db:
    image: busybox:1
  other:
    image: busybox:1
`})
	st, _, err := Load(context.Background(), LoadOptions{Files: []string{dir + "/compose.yaml"}, LookupEnv: env()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Select([]string{"web"})
	if err != nil || !slices.Equal(got, []string{"db", "api", "web"}) {
		t.Fatalf("Select(web) = %v %v", got, err)
	}
	if got, err = st.Select([]string{"other", "db"}); err != nil || !slices.Equal(got, []string{"db", "other"}) {
		t.Fatalf("Select(other, db) = %v %v", got, err)
	}
	if _, err = st.Select([]string{"nosuch"}); err == nil || !strings.Contains(err.Error(), `no service "nosuch"`) || !strings.Contains(err.Error(), "web") {
		t.Fatalf("Select(nosuch): %v", err)
	}
	// berth up without SERVICE: nil, every service (spec.Only unset).
	if got, err = st.Select(nil); err != nil || got != nil {
		t.Fatalf("Select() = %v %v; want nil", got, err)
	}
}
