package deploy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

func TestDefaults(t *testing.T) {
	u := Defaults(nil, false, false)
	if *u.Parallelism != 1 || u.Delay != 0 || u.FailureAction != ActionRollback || u.Monitor != 5*time.Second || u.MaxFailureRatio != 0 || u.Order != OrderStartFirst {
		t.Fatalf("update defaults %+v", u)
	}
	r := Defaults(nil, true, false)
	if *r.Parallelism != 0 || r.FailureAction != ActionPause || r.Monitor != 0 || r.Order != OrderStartFirst {
		t.Fatalf("rollback defaults %+v", r)
	}
	if Defaults(nil, false, true).Order != OrderStopFirst || Defaults(nil, true, true).Order != OrderStopFirst {
		t.Fatal("writable volumes should default to stop-first")
	}

	zero := uint64(0)
	given := &model.UpdateConfig{Parallelism: &zero, Delay: time.Second, FailureAction: ActionContinue, Monitor: time.Minute, MaxFailureRatio: 0.3, Order: OrderStartFirst}
	got := Defaults(given, false, true)
	if *got.Parallelism != 0 || got.Delay != time.Second || got.FailureAction != ActionContinue || got.Monitor != time.Minute || got.MaxFailureRatio != 0.3 || got.Order != OrderStartFirst {
		t.Fatalf("explicit settings were overridden: %+v", got)
	}
	if got.Parallelism == given.Parallelism {
		t.Fatal("result aliases the input's parallelism")
	}
	// Resolving twice changes nothing.
	if again := Defaults(&got, false, false); *again.Parallelism != *got.Parallelism || again.Order != got.Order || again.Monitor != got.Monitor {
		t.Fatalf("not idempotent: %+v vs %+v", again, got)
	}
}

func TestCheckUpdateConfig(t *testing.T) {
	if err := CheckUpdateConfig(nil, false); err != nil {
		t.Fatal(err)
	}
	if err := CheckUpdateConfig(&model.UpdateConfig{FailureAction: ActionRollback, Order: OrderStopFirst, MaxFailureRatio: 1}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u        model.UpdateConfig
		rollback bool
		want     string
	}{
		{model.UpdateConfig{Order: "first"}, false, `update_config.order "first"`},
		{model.UpdateConfig{FailureAction: "retry"}, false, `update_config.failure_action "retry"`},
		{model.UpdateConfig{FailureAction: ActionRollback}, true, `rollback_config.failure_action "rollback"`},
		{model.UpdateConfig{MaxFailureRatio: 1.5}, false, "update_config.max_failure_ratio 1.5"},
		{model.UpdateConfig{MaxFailureRatio: math.NaN()}, true, "rollback_config.max_failure_ratio NaN"},
		{model.UpdateConfig{Delay: -time.Second}, false, "update_config.delay -1s"},
		{model.UpdateConfig{Monitor: -time.Second}, true, "rollback_config.monitor -1s"},
	} {
		err := CheckUpdateConfig(&tc.u, tc.rollback)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.u, err, tc.want)
		}
	}
}
