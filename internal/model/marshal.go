package model

import (
	"encoding/json"
	"time"
)

// The types with time.Duration fields encode them as Duration strings
// (duration.go): each wraps itself in a struct whose Duration-typed fields,
// under the same JSON keys, shadow the time.Duration ones (encoding/json
// takes the shallower of two fields with one key). A shadowing field is
// encoded after the others.

// MarshalJSON writes StopTimeout as a Duration string.
func (s ServiceSpec) MarshalJSON() ([]byte, error) {
	type plain ServiceSpec
	return json.Marshal(struct {
		plain
		StopTimeout Duration `json:"stopTimeout"`
	}{plain(s), Duration(s.StopTimeout)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (s *ServiceSpec) UnmarshalJSON(b []byte) error {
	type plain ServiceSpec
	w := struct {
		*plain
		StopTimeout Duration `json:"stopTimeout"`
	}{(*plain)(s), Duration(s.StopTimeout)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.StopTimeout = time.Duration(w.StopTimeout)
	return nil
}

type healthCheckWire struct {
	Test          []string `json:"test"`
	Interval      Duration `json:"interval"`
	Timeout       Duration `json:"timeout"`
	StartPeriod   Duration `json:"startPeriod"`
	StartInterval Duration `json:"startInterval"`
	Retries       int      `json:"retries"`
}

// MarshalJSON writes the durations as strings.
func (c HealthCheck) MarshalJSON() ([]byte, error) {
	return json.Marshal(healthCheckWire{c.Test, Duration(c.Interval), Duration(c.Timeout),
		Duration(c.StartPeriod), Duration(c.StartInterval), c.Retries})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (c *HealthCheck) UnmarshalJSON(b []byte) error {
	w := healthCheckWire{c.Test, Duration(c.Interval), Duration(c.Timeout),
		Duration(c.StartPeriod), Duration(c.StartInterval), c.Retries}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = HealthCheck{w.Test, time.Duration(w.Interval), time.Duration(w.Timeout),
		time.Duration(w.StartPeriod), time.Duration(w.StartInterval), w.Retries}
	return nil
}

// MarshalJSON writes Delay and Monitor as Duration strings.
func (u UpdateConfig) MarshalJSON() ([]byte, error) {
	type plain UpdateConfig
	return json.Marshal(struct {
		plain
		Delay   Duration `json:"delay,omitempty"`
		Monitor Duration `json:"monitor,omitempty"`
	}{plain(u), Duration(u.Delay), Duration(u.Monitor)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (u *UpdateConfig) UnmarshalJSON(b []byte) error {
	type plain UpdateConfig
	w := struct {
		*plain
		Delay   Duration `json:"delay,omitempty"`
		Monitor Duration `json:"monitor,omitempty"`
	}{(*plain)(u), Duration(u.Delay), Duration(u.Monitor)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	u.Delay, u.Monitor = time.Duration(w.Delay), time.Duration(w.Monitor)
	return nil
}

// MarshalJSON writes DrainTimeout and HSTS as Duration strings.
func (p ProxyOptions) MarshalJSON() ([]byte, error) {
	type plain ProxyOptions
	return json.Marshal(struct {
		plain
		DrainTimeout Duration `json:"drainTimeout,omitempty"`
		HSTS         Duration `json:"hsts,omitempty"`
	}{plain(p), Duration(p.DrainTimeout), Duration(p.HSTS)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (p *ProxyOptions) UnmarshalJSON(b []byte) error {
	type plain ProxyOptions
	w := struct {
		*plain
		DrainTimeout Duration `json:"drainTimeout,omitempty"`
		HSTS         Duration `json:"hsts,omitempty"`
	}{(*plain)(p), Duration(p.DrainTimeout), Duration(p.HSTS)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.DrainTimeout, p.HSTS = time.Duration(w.DrainTimeout), time.Duration(w.HSTS)
	return nil
}

type proxyTimeoutsWire struct {
	ReadBody       Duration `json:"readBody,omitempty"`
	ResponseHeader Duration `json:"responseHeader,omitempty"`
	Write          Duration `json:"write,omitempty"`
}

// MarshalJSON writes the timeouts as Duration strings.
func (t ProxyTimeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(proxyTimeoutsWire{Duration(t.ReadBody), Duration(t.ResponseHeader), Duration(t.Write)})
}

// UnmarshalJSON reads what MarshalJSON writes (the proxy's own encoding
// was already this one).
func (t *ProxyTimeouts) UnmarshalJSON(b []byte) error {
	w := proxyTimeoutsWire{Duration(t.ReadBody), Duration(t.ResponseHeader), Duration(t.Write)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = ProxyTimeouts{time.Duration(w.ReadBody), time.Duration(w.ResponseHeader), time.Duration(w.Write)}
	return nil
}

// MarshalJSON writes RenewBefore as a Duration string.
func (a ACMESettings) MarshalJSON() ([]byte, error) {
	type plain ACMESettings
	return json.Marshal(struct {
		plain
		RenewBefore Duration `json:"renewBefore,omitempty"`
	}{plain(a), Duration(a.RenewBefore)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *ACMESettings) UnmarshalJSON(b []byte) error {
	type plain ACMESettings
	w := struct {
		*plain
		RenewBefore Duration `json:"renewBefore,omitempty"`
	}{(*plain)(a), Duration(a.RenewBefore)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.RenewBefore = time.Duration(w.RenewBefore)
	return nil
}
