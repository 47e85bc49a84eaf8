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

// The deploy API's handlers: the route table (api.Routes) maps the
// endpoints to them. Deploys go on when the client goes away (like berth
// up): a half-done rollout is worse than one nobody watches.

// ServeDeploy deploys (api.StackDeploy): a Request in, StreamLines out.
func (d *Deployer) ServeDeploy(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		api.WriteError(w, http.StatusBadRequest, fmt.Errorf("deploy: %w", err))
		return
	}
	req.Spec.Name = r.PathValue("name")
	d.stream(w, func(progress func(Event)) (Report, error) {
		return d.Deploy(context.WithoutCancel(r.Context()), req, progress)
	})
}

// ServeRollback rolls a service back (api.ServiceRollback), to revision
// to=N or the one before the current, streaming StreamLines.
func (d *Deployer) ServeRollback(w http.ResponseWriter, r *http.Request) {
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
}

// ServeHistory lists a service's revisions (api.ServiceHistory).
func (d *Deployer) ServeHistory(w http.ResponseWriter, r *http.Request) {
	h := d.History(r.PathValue("name"), r.PathValue("service"))
	if h == nil {
		h = []HistoryEntry{}
	}
	api.WriteJSON(w, http.StatusOK, h)
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
