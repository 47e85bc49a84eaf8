package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hub is the one poller behind every live stream: while at least one
// stream is open it reads the stacks port once per poll interval (or
// at once when poked, after an action) and hands the snapshot to every
// stream, saying whether it changed. Streams then push to their browser
// only what changed, so n open pages cost one read per interval, not n.
type hub struct {
	src  Stacks
	poll time.Duration
	log  *slog.Logger

	mu      sync.Mutex
	subs    map[chan snapshot]struct{}
	last    []Stack
	running bool
	pokec   chan struct{}
	stop    chan struct{}
	stopped bool
}

// snapshot is one poll's result.
type snapshot struct {
	stacks  []Stack
	err     error
	changed bool
}

func newHub(src Stacks, poll time.Duration, log *slog.Logger) *hub {
	return &hub{src: src, poll: poll, log: log, subs: map[chan snapshot]struct{}{}, pokec: make(chan struct{}, 1), stop: make(chan struct{})}
}

// subscribe returns a channel of snapshots (the latest one wins when the
// reader is slow) and its cancel.
func (h *hub) subscribe() (<-chan snapshot, func()) {
	ch := make(chan snapshot, 1)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	if !h.running && !h.stopped {
		h.running = true
		go h.run()
	}
	h.mu.Unlock()
	h.poke()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// poke makes the poller read now (after an action changed something).
func (h *hub) poke() {
	select {
	case h.pokec <- struct{}{}:
	default:
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped {
		h.stopped = true
		close(h.stop)
	}
}

func (h *hub) run() {
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		case <-h.pokec:
		}
		h.mu.Lock()
		if len(h.subs) == 0 { // nobody watches: stop reading
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stacks, err := h.src.Stacks(ctx)
		cancel()
		h.mu.Lock()
		snap := snapshot{stacks: stacks, err: err, changed: err == nil && !reflect.DeepEqual(stacks, h.last)}
		if snap.changed {
			h.last = stacks
		}
		for ch := range h.subs {
			mine := snap
			select { // replace an unread snapshot with this one, keeping its news
			case old := <-ch:
				mine.changed = mine.changed || old.changed
			default:
			}
			ch <- mine
		}
		h.mu.Unlock()
	}
}

// eventStream writes server-sent events.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func newEventStream(w http.ResponseWriter) *eventStream {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	es := &eventStream{w: w, rc: http.NewResponseController(w)}
	_ = es.rc.Flush()
	return es
}

// send writes one event; data may span lines.
func (e *eventStream) send(event string, data []byte) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "event: %s\n", event)
	for _, line := range strings.Split(string(data), "\n") {
		b.WriteString("data: ")
		b.WriteString(strings.TrimSuffix(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := e.w.Write(b.Bytes()); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *eventStream) ping() error {
	if _, err := e.w.Write([]byte(": ping\n\n")); err != nil {
		return err
	}
	return e.rc.Flush()
}

// fragment renders a template to bytes.
func (s *Server) fragment(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	err := s.tmpl.ExecuteTemplate(&b, name, data)
	return b.Bytes(), err
}

// live runs a page's stream: on every snapshot, render renders the page's
// live part, and the stream sends it when it differs from what the
// browser has.
func (s *Server) live(w http.ResponseWriter, r *http.Request, render func(snapshot) ([]byte, error)) {
	snaps, cancel := s.hub.subscribe()
	defer cancel()
	var sent []byte
	streamUpdates(w, r, snaps, func(snap snapshot) ([]byte, bool, bool) {
		out, err := render(snap)
		if errors.Is(err, errUnchanged) {
			return nil, false, false
		}
		if err != nil {
			out = errorFragment(err)
		}
		if bytes.Equal(out, sent) {
			return nil, false, false
		}
		sent = out
		return out, true, false
	})
}

// streamUpdates runs a server-sent event stream of "update" events: next
// turns each value from ch into the event to send (send false: none this
// time; stop: the stream ends after it), with a keep-alive ping every
// 15 s, until the client leaves.
func streamUpdates[T any](w http.ResponseWriter, r *http.Request, ch <-chan T, next func(T) (out []byte, send, stop bool)) {
	es := newEventStream(w)
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepalive.C:
			if es.ping() != nil {
				return
			}
		case v := <-ch:
			out, send, stop := next(v)
			if send && es.send("update", out) != nil || stop {
				return
			}
		}
	}
}

// errorFragment is err as the live part of a page shows it.
func errorFragment(err error) []byte {
	return []byte(`<p class="error" role="alert">` + template.HTMLEscapeString(err.Error()) + `</p>`)
}

// errUnchanged tells live a snapshot changed nothing its page shows.
var errUnchanged = errors.New("unchanged")

func (s *Server) stacksEvents(w http.ResponseWriter, r *http.Request) {
	first := true
	s.live(w, r, func(snap snapshot) ([]byte, error) {
		if snap.err != nil {
			return nil, snap.err
		}
		// The page shows only the stacks: render when they changed (and
		// once at the start), not on every poll.
		if !snap.changed && !first {
			return nil, errUnchanged
		}
		first = false
		return s.fragment("stacks-body", map[string]any{"Stacks": snap.stacks})
	})
}

func (s *Server) serviceEvents(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	var last map[string]any // what the browser shows
	s.live(w, r, func(snap snapshot) ([]byte, error) {
		if snap.err != nil {
			last = nil
			return nil, snap.err
		}
		// The service from the hub's snapshot (no read of the stacks per
		// stream); revisions can change without the containers changing
		// (an outcome recorded): read them on every poll, from memory.
		// Render only when either changed.
		data, err := s.serviceData(r.Context(), snap.stacks, stack, service)
		if err != nil {
			last = nil
			return nil, err
		}
		data["Session"] = current(r) // an anonymous reader gets login links, not actions
		if last != nil && reflect.DeepEqual(data, last) {
			return nil, errUnchanged
		}
		last = data
		return s.fragment("service-body", data)
	})
}

// logEvent is a log line as the page's script gets it (it sets it as
// text, never as markup).
type logEvent struct {
	Time   string `json:"time"`
	Source string `json:"source"`
	Stream string `json:"stream"`
	Text   string `json:"text"`
}

func (s *Server) logEvents(w http.ResponseWriter, r *http.Request) {
	replica, _ := strconv.Atoi(r.URL.Query().Get("replica"))
	q := LogQuery{Stack: r.PathValue("stack"), Service: r.PathValue("service"), Replica: replica, Follow: true}
	es := newEventStream(w)
	err := s.cfg.Ports.Logs.Logs(r.Context(), q, func(l LogLine) error {
		b, _ := json.Marshal(logEvent{Time: l.Time.UTC().Format(time.RFC3339), Source: l.Source, Stream: l.Stream, Text: strings.TrimRight(l.Text, "\n")})
		return es.send("log", b)
	})
	if err != nil && r.Context().Err() == nil {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		_ = es.send("failed", b)
	}
}
