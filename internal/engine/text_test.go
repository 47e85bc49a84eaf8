package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

func TestCreatedAgo(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second:     "seconds ago",
		5 * time.Minute:      "5 minutes ago",
		30 * time.Hour:       "30 hours ago",
		10 * 24 * time.Hour:  "10 days ago",
		400 * 24 * time.Hour: "2024-04-27",
	} {
		if got := CreatedAgo(now.Add(-d), now); got != want {
			t.Errorf("CreatedAgo(-%v) = %q, want %q", d, got, want)
		}
	}
	if got := CreatedAgo(time.Unix(0, 0), now); got != "1970-01-01" {
		t.Errorf("epoch: %q", got)
	}
	if got := CreatedAgo(time.Time{}, now); got != "-" {
		t.Errorf("zero: %q", got)
	}
}

// Stats' memory is in binary and network in decimal units, as docker stats.
func TestStatsSizes(t *testing.T) {
	for n, want := range map[uint64]string{512: "512B", 1000: "1000B", 1536: "1.5KiB", 10 << 20: "10MiB", 3<<30 + 1<<29: "3.5GiB"} {
		if got := MemorySize(n); got != want {
			t.Errorf("MemorySize(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[uint64]string{512: "512B", 1234: "1.234kB", 1e6: "1MB", 12345678: "12.35MB"} {
		if got := NetworkSize(n); got != want {
			t.Errorf("NetworkSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWriteTables(t *testing.T) {
	id := func(s string) string { return s }
	size := func(int64) string { return "1 B" }
	var b strings.Builder
	WriteContainers(&b, []Container{{Name: "shop-web-1", State: StateExited, ExitCode: 2, Image: "img", Ports: []model.PortMapping{{HostPort: 8080, ContainerPort: 80}}}}, id)
	if !strings.Contains(b.String(), "exited (2)") || !strings.Contains(b.String(), "0.0.0.0:8080->80") {
		t.Errorf("containers:\n%s", b.String())
	}
	b.Reset()
	WriteImages(&b, []Image{{ImageSummary: ImageSummary{Digest: "sha256:x"}}}, id, size)
	if !strings.Contains(b.String(), "<none>") || !strings.Contains(b.String(), "sha256:x") {
		t.Errorf("images:\n%s", b.String())
	}
	b.Reset()
	WriteVolumes(&b, []Volume{{Name: "shop_data"}}, size)
	if !strings.Contains(b.String(), "shop_data  1 B   -") {
		t.Errorf("volumes:\n%q", b.String())
	}
	b.Reset()
	WritePrune(&b, PruneReport{Containers: []string{"a"}, Snapshots: -1}, true)
	if want := "Removed container a\nPruned 1 containers, 0 images, snapshots not pruned (the daemon's image store cannot), 0 volumes\n"; b.String() != want {
		t.Errorf("prune: %q", b.String())
	}
}

func TestWriteStatsJSONIsOneLinePerContainer(t *testing.T) {
	var b strings.Builder
	if err := WriteStatsJSON(&b, []ContainerStats{{Name: "a"}, {Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `"b"`) {
		t.Errorf("%q", b.String())
	}
}

// TestStatsOutput: --json is a line per container and sample; a table
// per sample otherwise, with the screen cleared first only on Redraw.
func TestStatsOutput(t *testing.T) {
	s := StatsSample{Containers: []ContainerStats{{Name: "a"}, {Name: "b"}}}
	var b strings.Builder
	if err := (StatsOutput{W: &b, JSON: true, Redraw: true}).Sample(s); err != nil || strings.Count(b.String(), "\n") != 2 || strings.Contains(b.String(), "\033") {
		t.Errorf("json: %v %q", err, b.String())
	}
	b.Reset()
	if err := (StatsOutput{W: &b}).Sample(s); err != nil || !strings.HasPrefix(b.String(), "NAME") {
		t.Errorf("table: %v %q", err, b.String())
	}
	b.Reset()
	if err := (StatsOutput{W: &b, Redraw: true}).Sample(s); err != nil || !strings.HasPrefix(b.String(), "\033[H\033[2JNAME") {
		t.Errorf("redraw: %v %q", err, b.String())
	}
}

func TestPruneReportErr(t *testing.T) {
	if err := (PruneReport{}).Err(); err != nil {
		t.Errorf("no failures: %v", err)
	}
	if err := (PruneReport{Errors: []string{"image a: in use", "volume v: busy"}}).Err(); err == nil || err.Error() != "prune: image a: in use; volume v: busy" {
		t.Errorf("failures: %v", err)
	}
}
