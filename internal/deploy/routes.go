package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/berth-dev/berth/internal/engine/api"
)

// StreamLine is one line of a deploy's or rollback's response stream: an
// event while it runs, then the report (and the error, if it failed).
type StreamLine struct {
	Event  *Event  `json:"event,omitempty"`
	Report *Report `json:"report,omitempty"`
	Failed string  `json:"failed,omitempty"`
}

// Routes registers the deploy API on the daemon's mux:
//
//	POST /v1/stacks/{name}/deploy                      Request → ndjson StreamLine
//	POST /v1/stacks/{name}/services/{service}/rollback ?to=N → ndjson StreamLine
//	GET  /v1/stacks/{name}/services/{service}/history  → []HistoryEntry
//
// Deploys go on when the client goes away (like berth up): a half-done
// rollout is worse than one nobody watches.
func (d *Deployer) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/stacks/{name}/deploy", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("deploy: %w", err))
			return
		}
		req.Spec.Name = r.PathValue("name")
		d.stream(w, func(progress func(Event)) (Report, error) {
			return d.Deploy(context.WithoutCancel(r.Context()), req, progress)
		})
	})
	mux.HandleFunc("POST /v1/stacks/{name}/services/{service}/rollback", func(w http.ResponseWriter, r *http.Request) {
		to := 0
		if s := r.URL.Query().Get("to"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				api.WriteError(w, http.StatusBadRequest, fmt.Errorf("--to %q: want a revision number", s))
				return
			}
			to = n
		}
		d.stream(w, func(progress func(Event)) (Report, error) {
			return d.Rollback(context.WithoutCancel(r.Context()), r.PathValue("name"), r.PathValue("service"), to, 0, progress)
		})
	})
	mux.HandleFunc("GET /v1/stacks/{name}/services/{service}/history", func(w http.ResponseWriter, r *http.Request) {
		h := d.History(r.PathValue("name"), r.PathValue("service"))
		if h == nil {
			h = []HistoryEntry{}
		}
		api.WriteJSON(w, http.StatusOK, h)
	})
}

func (d *Deployer) stream(w http.ResponseWriter, run func(func(Event)) (Report, error)) {
	ew := api.NewEventWriter(w)
	rep, err := run(func(e Event) { _ = ew.Send(StreamLine{Event: &e}) })
	line := StreamLine{Report: &rep}
	if err != nil {
		if !errors.Is(err, ErrFailed) && len(rep.Services) == 0 {
			ew.Fail(err) // refused before anything changed
			return
		}
		line.Failed = err.Error()
	}
	_ = ew.Send(line)
}
