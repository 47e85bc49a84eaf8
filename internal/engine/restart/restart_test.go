package restart

import (
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

func TestBackoffDoublesCapsAndResets(t *testing.T) {
	tr := &Tracker{Policy: model.RestartPolicy{Mode: model.RestartAlways}}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000}
	for i, w := range want {
		ok, d := tr.Next(Exit{Code: 1, Ran: time.Second})
		if !ok || d != w*time.Millisecond {
			t.Fatalf("restart %d: %v %v, want %v", i, ok, d, w*time.Millisecond)
		}
	}
	// Ten seconds up resets the backoff.
	if _, d := tr.Next(Exit{Code: 1, Ran: 10 * time.Second}); d != InitialDelay {
		t.Fatalf("after 10 s up: delay %v, want %v", d, InitialDelay)
	}
}

func TestPolicies(t *testing.T) {
	cases := []struct {
		policy string
		exit   Exit
		want   bool
	}{
		{"no", Exit{Code: 1}, false},
		{"always", Exit{Code: 0}, true},
		{"unless-stopped", Exit{Code: 0}, true},
		{"on-failure", Exit{Code: 0}, false},
		{"on-failure", Exit{Code: 2}, true},
		{"on-failure", Exit{Code: 0, OOMKilled: true}, true},
		{"always", Exit{Code: 1, Stopped: true}, false},
		{"no", Exit{Code: 137, Unhealthy: true}, true},
		{"no", Exit{Unhealthy: true, Stopped: true}, false},
	}
	for _, c := range cases {
		p, _ := model.ParseRestartPolicy(c.policy)
		tr := &Tracker{Policy: p}
		if got, _ := tr.Next(c.exit); got != c.want {
			t.Errorf("%s after %+v: restart=%v, want %v", c.policy, c.exit, got, c.want)
		}
	}
}

func TestOnFailureRetryLimit(t *testing.T) {
	tr := &Tracker{Policy: model.RestartPolicy{Mode: model.RestartOnFailure, MaxRetries: 2}}
	for i := 0; i < 2; i++ {
		if ok, _ := tr.Next(Exit{Code: 1}); !ok {
			t.Fatalf("retry %d refused", i)
		}
	}
	if ok, _ := tr.Next(Exit{Code: 1}); ok {
		t.Fatal("third retry allowed with on-failure:2")
	}
	// A long run resets the count.
	if ok, _ := tr.Next(Exit{Code: 1, Ran: time.Minute}); !ok {
		t.Fatal("retry after a long run refused")
	}
}
