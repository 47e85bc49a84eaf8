package model

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// HealthCheck is a health check definition (internal/engine/health runs
// it; zero durations and retries take Docker's defaults there).
type HealthCheck struct {
	// Test is ["CMD", arg...], ["CMD-SHELL", command], ["HTTP", url] (a
	// url whose host may be empty, "http://:8080/healthz", meaning the
	// container's address; 2xx/3xx is healthy), ["TCP", ":port"] or
	// ["NONE"].
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"startPeriod"`
	StartInterval time.Duration `json:"startInterval"`
	Retries       int           `json:"retries"`
}

// Validate checks the test form.
func (c HealthCheck) Validate() error {
	if len(c.Test) == 0 {
		return errors.New("healthcheck: test is empty")
	}
	switch c.Test[0] {
	case "NONE":
		return nil
	case "CMD":
		if len(c.Test) < 2 {
			return errors.New("healthcheck: CMD needs a command")
		}
	case "CMD-SHELL", "HTTP", "TCP":
		if len(c.Test) != 2 || c.Test[1] == "" {
			return fmt.Errorf("healthcheck: %s takes exactly one argument", c.Test[0])
		}
	default:
		return fmt.Errorf("healthcheck: test must start with NONE, CMD, CMD-SHELL, HTTP or TCP, not %q", c.Test[0])
	}
	if c.Test[0] == "TCP" {
		if _, _, err := net.SplitHostPort(c.Test[1]); err != nil {
			return fmt.Errorf("healthcheck: TCP %q: want [host]:port", c.Test[1])
		}
	}
	return nil
}

// Disabled reports whether the check is NONE (or absent).
func (c HealthCheck) Disabled() bool { return len(c.Test) == 0 || c.Test[0] == "NONE" }
