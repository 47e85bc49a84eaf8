package model

import "time"

// UpdateConfig is compose's deploy.update_config / rollback_config. Zero
// fields mean the deployer's defaults.
type UpdateConfig struct {
	Parallelism     *uint64       `json:"parallelism,omitempty"` // nil: default (1); 0: all at once
	Delay           time.Duration `json:"delay,omitempty"`
	FailureAction   string        `json:"failureAction,omitempty"` // rollback (berth's default) | pause | continue
	Monitor         time.Duration `json:"monitor,omitempty"`
	MaxFailureRatio float64       `json:"maxFailureRatio,omitempty"`
	Order           string        `json:"order,omitempty"` // start-first | stop-first
}
