package model

import (
	"encoding/json"
	"time"
)

// The types with time.Duration fields encode them as duration strings
// (duration.go): each wraps itself in a struct whose duration-typed fields,
// under the same JSON keys, shadow the time.Duration ones (encoding/json
// takes the shallower of two fields with one key). A shadowing field is
// encoded after the others.

// MarshalJSON writes StopTimeout as a duration string.
func (s ServiceSpec) MarshalJSON() ([]byte, error) {
	type plain ServiceSpec
	return json.Marshal(struct {
		plain
		StopTimeout duration `json:"stopTimeout"`
	}{plain(s), duration(s.StopTimeout)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (s *ServiceSpec) UnmarshalJSON(b []byte) error {
	type plain ServiceSpec
	w := struct {
		*plain
		StopTimeout duration `json:"stopTimeout"`
	}{(*plain)(s), duration(s.StopTimeout)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.StopTimeout = time.Duration(w.StopTimeout)
	return nil
}

type healthCheckWire struct {
	Test          []string `json:"test"`
	Interval      duration `json:"interval"`
	Timeout       duration `json:"timeout"`
	StartPeriod   duration `json:"startPeriod"`
	StartInterval duration `json:"startInterval"`
	Retries       int      `json:"retries"`
}

// MarshalJSON writes the durations as strings.
func (c HealthCheck) MarshalJSON() ([]byte, error) {
	return json.Marshal(healthCheckWire{c.Test, duration(c.Interval), duration(c.Timeout),
		duration(c.StartPeriod), duration(c.StartInterval), c.Retries})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (c *HealthCheck) UnmarshalJSON(b []byte) error {
	w := healthCheckWire{c.Test, duration(c.Interval), duration(c.Timeout),
		duration(c.StartPeriod), duration(c.StartInterval), c.Retries}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = HealthCheck{w.Test, time.Duration(w.Interval), time.Duration(w.Timeout),
		time.Duration(w.StartPeriod), time.Duration(w.StartInterval), w.Retries}
	return nil
}

// MarshalJSON writes Delay and Monitor as duration strings.
func (u UpdateConfig) MarshalJSON() ([]byte, error) {
	type plain UpdateConfig
	return json.Marshal(struct {
		plain
		Delay   duration `json:"delay,omitempty"`
		Monitor duration `json:"monitor,omitempty"`
	}{plain(u), duration(u.Delay), duration(u.Monitor)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (u *UpdateConfig) UnmarshalJSON(b []byte) error {
	type plain UpdateConfig
	w := struct {
		*plain
		Delay   duration `json:"delay,omitempty"`
		Monitor duration `json:"monitor,omitempty"`
	}{(*plain)(u), duration(u.Delay), duration(u.Monitor)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	u.Delay, u.Monitor = time.Duration(w.Delay), time.Duration(w.Monitor)
	return nil
}

// MarshalJSON writes DrainTimeout as a duration string.
func (p ProxyOptions) MarshalJSON() ([]byte, error) {
	type plain ProxyOptions
	return json.Marshal(struct {
		plain
		DrainTimeout duration `json:"drainTimeout,omitempty"`
	}{plain(p), duration(p.DrainTimeout)})
}

// UnmarshalJSON reads what MarshalJSON writes, and the pre-model encoding.
func (p *ProxyOptions) UnmarshalJSON(b []byte) error {
	type plain ProxyOptions
	w := struct {
		*plain
		DrainTimeout duration `json:"drainTimeout,omitempty"`
	}{(*plain)(p), duration(p.DrainTimeout)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.DrainTimeout = time.Duration(w.DrainTimeout)
	return nil
}

type proxyTimeoutsWire struct {
	ReadBody       duration `json:"readBody,omitempty"`
	ResponseHeader duration `json:"responseHeader,omitempty"`
	Write          duration `json:"write,omitempty"`
}

// MarshalJSON writes the timeouts as duration strings.
func (t ProxyTimeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(proxyTimeoutsWire{duration(t.ReadBody), duration(t.ResponseHeader), duration(t.Write)})
}

// UnmarshalJSON reads what MarshalJSON writes (the proxy's own encoding
// was already this one).
func (t *ProxyTimeouts) UnmarshalJSON(b []byte) error {
	w := proxyTimeoutsWire{duration(t.ReadBody), duration(t.ResponseHeader), duration(t.Write)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = ProxyTimeouts{time.Duration(w.ReadBody), time.Duration(w.ResponseHeader), time.Duration(w.Write)}
	return nil
}
