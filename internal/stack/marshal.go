package stack

import (
	"encoding/json"
	"time"

	"github.com/berth-dev/berth/internal/model"
)

// Durations are written as Go duration strings ("30s", "1m30s") rather
// than nanosecond integers, so `berth config` output stays readable; both
// forms are accepted when reading.

// jsonDuration is the model's duration encoding: `berth config` prints
// durations as the daemon's records and API carry them.
type jsonDuration = model.Duration

type serviceJSON Service

type serviceWire struct {
	*serviceJSON
	StopGracePeriod *jsonDuration `json:"stop_grace_period,omitempty"`
}

// MarshalJSON writes StopGracePeriod as a duration string.
func (s Service) MarshalJSON() ([]byte, error) {
	w := serviceWire{serviceJSON: (*serviceJSON)(&s)}
	if s.StopGracePeriod != 0 {
		d := jsonDuration(s.StopGracePeriod)
		w.StopGracePeriod = &d
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Service) UnmarshalJSON(b []byte) error {
	w := serviceWire{serviceJSON: (*serviceJSON)(s)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.StopGracePeriod != nil {
		s.StopGracePeriod = time.Duration(*w.StopGracePeriod)
	}
	return nil
}

type healthcheckWire struct {
	Test          []string     `json:"test,omitempty"`
	Interval      jsonDuration `json:"interval,omitempty"`
	Timeout       jsonDuration `json:"timeout,omitempty"`
	StartPeriod   jsonDuration `json:"start_period,omitempty"`
	StartInterval jsonDuration `json:"start_interval,omitempty"`
	Retries       int          `json:"retries,omitempty"`
	Disable       bool         `json:"disable,omitempty"`
}

// MarshalJSON writes the durations as strings.
func (h Healthcheck) MarshalJSON() ([]byte, error) {
	return json.Marshal(healthcheckWire{h.Test, jsonDuration(h.Interval), jsonDuration(h.Timeout),
		jsonDuration(h.StartPeriod), jsonDuration(h.StartInterval), h.Retries, h.Disable})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (h *Healthcheck) UnmarshalJSON(b []byte) error {
	var w healthcheckWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*h = Healthcheck{w.Test, time.Duration(w.Interval), time.Duration(w.Timeout),
		time.Duration(w.StartPeriod), time.Duration(w.StartInterval), w.Retries, w.Disable}
	return nil
}

type updateConfigWire struct {
	Parallelism     *uint64      `json:"parallelism,omitempty"`
	Delay           jsonDuration `json:"delay,omitempty"`
	FailureAction   string       `json:"failure_action,omitempty"`
	Monitor         jsonDuration `json:"monitor,omitempty"`
	MaxFailureRatio float64      `json:"max_failure_ratio,omitempty"`
	Order           string       `json:"order,omitempty"`
}

// MarshalJSON writes the durations as strings.
func (u UpdateConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(updateConfigWire{u.Parallelism, jsonDuration(u.Delay), u.FailureAction,
		jsonDuration(u.Monitor), u.MaxFailureRatio, u.Order})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (u *UpdateConfig) UnmarshalJSON(b []byte) error {
	var w updateConfigWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = UpdateConfig{w.Parallelism, time.Duration(w.Delay), w.FailureAction,
		time.Duration(w.Monitor), w.MaxFailureRatio, w.Order}
	return nil
}

type proxyJSON Proxy

type proxyWire struct {
	*proxyJSON
	DrainTimeout jsonDuration `json:"drain_timeout,omitempty"`
	HSTS         jsonDuration `json:"hsts,omitempty"`
}

// MarshalJSON writes DrainTimeout and HSTS as duration strings.
func (p Proxy) MarshalJSON() ([]byte, error) {
	return json.Marshal(proxyWire{(*proxyJSON)(&p), jsonDuration(p.DrainTimeout), jsonDuration(p.HSTS)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (p *Proxy) UnmarshalJSON(b []byte) error {
	w := proxyWire{proxyJSON: (*proxyJSON)(p)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.DrainTimeout = time.Duration(w.DrainTimeout)
	p.HSTS = time.Duration(w.HSTS)
	return nil
}

type proxyTimeoutsWire struct {
	ReadBody       jsonDuration `json:"read_body,omitempty"`
	ResponseHeader jsonDuration `json:"response_header,omitempty"`
	Write          jsonDuration `json:"write,omitempty"`
}

// MarshalJSON writes the timeouts as x-berth-proxy spells them.
func (t ProxyTimeouts) MarshalJSON() ([]byte, error) {
	return json.Marshal(proxyTimeoutsWire{jsonDuration(t.ReadBody), jsonDuration(t.ResponseHeader), jsonDuration(t.Write)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (t *ProxyTimeouts) UnmarshalJSON(b []byte) error {
	var w proxyTimeoutsWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = ProxyTimeouts{time.Duration(w.ReadBody), time.Duration(w.ResponseHeader), time.Duration(w.Write)}
	return nil
}

type acmeJSON ACME

type acmeWire struct {
	*acmeJSON
	RenewBefore jsonDuration `json:"renew_before,omitempty"`
}

// MarshalJSON writes RenewBefore as a duration string.
func (a ACME) MarshalJSON() ([]byte, error) {
	return json.Marshal(acmeWire{(*acmeJSON)(&a), jsonDuration(a.RenewBefore)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (a *ACME) UnmarshalJSON(b []byte) error {
	w := acmeWire{acmeJSON: (*acmeJSON)(a)}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	a.RenewBefore = time.Duration(w.RenewBefore)
	return nil
}
