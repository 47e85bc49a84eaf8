package deploy

import (
	"fmt"
	"math"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// Update orders and failure actions: the values of compose's
// deploy.update_config / rollback_config order and failure_action.
const (
	OrderStartFirst = "start-first"
	OrderStopFirst  = "stop-first"

	ActionRollback = "rollback"
	ActionPause    = "pause"
	ActionContinue = "continue"
)

// DefaultMonitor is how long a new replica is watched after the switch
// when update_config.monitor is not set (Swarm's default).
const DefaultMonitor = 5 * time.Second

// Defaults resolves an update_config (rollback false) or rollback_config
// (rollback true) against berth's defaults; u may be nil.
//
// update_config: parallelism 1, delay 0, failure_action rollback (Swarm's
// is pause, but an unattended deploy should not leave a half-broken
// service behind), monitor 5 s, max_failure_ratio 0, order start-first.
// rollback_config: parallelism 0 (all at once: the old revision is known
// good and the point is to get it back quickly), failure_action pause,
// monitor 0, order start-first.
//
// Either way the order is stop-first when the service has writable volumes
// and none was given: two processes of a database on one data directory
// corrupt it or refuse to start (CapRover #661, Dokploy #4560), which is
// worse than the short gap stop-first causes. That holds for a rollback
// too, so it gets the same rule.
//
// A zero Monitor in an update_config means the default; Monitor 0 cannot
// be asked for (as in Swarm, which treats 0 as unset as well).
func Defaults(u *model.UpdateConfig, rollback bool, writableVolumes bool) model.UpdateConfig {
	var out model.UpdateConfig
	if u != nil {
		out = *u
	}
	// A fresh pointer: the result must not alias the spec it came from.
	par := uint64(1)
	if rollback {
		par = 0
	}
	if u != nil && u.Parallelism != nil {
		par = *u.Parallelism
	}
	out.Parallelism = &par
	if out.FailureAction == "" {
		out.FailureAction = ActionRollback
		if rollback {
			out.FailureAction = ActionPause
		}
	}
	if out.Monitor == 0 && !rollback {
		out.Monitor = DefaultMonitor
	}
	if out.Order == "" {
		out.Order = OrderStartFirst
		if writableVolumes {
			out.Order = OrderStopFirst
		}
	}
	return out
}

// CheckUpdateConfig validates an update_config (rollback false) or
// rollback_config (rollback true); nil is valid. Errors name the field.
func CheckUpdateConfig(u *model.UpdateConfig, rollback bool) error {
	if u == nil {
		return nil
	}
	section := "update_config"
	if rollback {
		section = "rollback_config"
	}
	switch u.Order {
	case "", OrderStartFirst, OrderStopFirst:
	default:
		return fmt.Errorf("%s.order %q is invalid (want %s or %s)", section, u.Order, OrderStartFirst, OrderStopFirst)
	}
	switch u.FailureAction {
	case "", ActionPause, ActionContinue:
	case ActionRollback:
		if rollback {
			// A failed rollback has nothing further to roll back to.
			return fmt.Errorf("%s.failure_action %q is invalid (want %s or %s)", section, u.FailureAction, ActionPause, ActionContinue)
		}
	default:
		return fmt.Errorf("%s.failure_action %q is invalid (want %s, %s or %s)", section, u.FailureAction, ActionRollback, ActionPause, ActionContinue)
	}
	if math.IsNaN(u.MaxFailureRatio) || u.MaxFailureRatio < 0 || u.MaxFailureRatio > 1 {
		return fmt.Errorf("%s.max_failure_ratio %v is invalid (want 0 to 1)", section, u.MaxFailureRatio)
	}
	if u.Delay < 0 {
		return fmt.Errorf("%s.delay %s is invalid (negative)", section, u.Delay)
	}
	if u.Monitor < 0 {
		return fmt.Errorf("%s.monitor %s is invalid (negative)", section, u.Monitor)
	}
	return nil
}
