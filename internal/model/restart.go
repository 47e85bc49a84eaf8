package model

import (
	"fmt"
	"strconv"
	"strings"
)

// RestartMode is a restart policy mode.
type RestartMode string

// The modes compose and Docker know.
const (
	RestartNo            RestartMode = "no"
	RestartAlways        RestartMode = "always"
	RestartOnFailure     RestartMode = "on-failure"
	RestartUnlessStopped RestartMode = "unless-stopped"
)

// RestartPolicy is a restart policy (internal/engine/restart applies it).
type RestartPolicy struct {
	Mode       RestartMode `json:"mode"`
	MaxRetries int         `json:"maxRetries"` // on-failure only; 0 = unlimited
}

// ParseRestartPolicy reads "no", "always", "on-failure", "on-failure:3",
// "unless-stopped" (and compose's deploy.restart_policy conditions "none"
// and "any").
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	mode, n, hasN := strings.Cut(strings.TrimSpace(s), ":")
	p := RestartPolicy{Mode: RestartMode(mode)}
	switch mode {
	case "", "no", "none":
		p.Mode = RestartNo
	case "always", "any":
		p.Mode = RestartAlways
	case "unless-stopped":
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return RestartPolicy{}, fmt.Errorf("restart policy %q: the retry count must be a non-negative number", s)
			}
			p.MaxRetries = v
		}
		return p, nil
	default:
		return RestartPolicy{}, fmt.Errorf("restart policy %q: want no, always, on-failure[:N] or unless-stopped", s)
	}
	if hasN {
		return RestartPolicy{}, fmt.Errorf("restart policy %q: only on-failure takes a retry count", s)
	}
	return p, nil
}

func (p RestartPolicy) String() string {
	if p.Mode == RestartOnFailure && p.MaxRetries > 0 {
		return fmt.Sprintf("on-failure:%d", p.MaxRetries)
	}
	return string(p.Mode)
}
