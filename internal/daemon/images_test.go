package daemon

import (
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/store"
)

// The image's STOPSIGNAL reaches the engine (it used to be dropped here,
// so every container was stopped with SIGTERM).
func TestImageInfoCarriesStopSignal(t *testing.T) {
	for sig, want := range map[string]syscall.Signal{"SIGQUIT": syscall.SIGQUIT, "RTMIN+1": 35, "10": syscall.SIGUSR1, "": 0, "bogus": 0} {
		img := store.Image{Digest: "sha256:x", Config: v1.ConfigFile{Config: v1.Config{StopSignal: sig}}}
		if got := imageInfo(img).StopSignal; got != want {
			t.Errorf("STOPSIGNAL %q: engine gets %v, want %v", sig, got, want)
		}
	}
}
