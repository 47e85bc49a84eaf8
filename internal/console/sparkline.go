package console

import (
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// sparkPoints is how many samples a sparkline shows (a minute).
const sparkPoints = 60

// series is one replica's recent samples, oldest first.
type series struct {
	Name string
	CPU  []float64
	Mem  []float64 // bytes
}

func (s *series) add(st ReplicaStats) {
	s.CPU = appendCapped(s.CPU, st.CPUPercent)
	s.Mem = appendCapped(s.Mem, float64(st.MemoryBytes))
}

func appendCapped(xs []float64, x float64) []float64 {
	xs = append(xs, x)
	if len(xs) > sparkPoints {
		xs = xs[len(xs)-sparkPoints:]
	}
	return xs
}

// sparkline draws values as an inline SVG polyline, scaled to their
// maximum (at least floor). Numbers only: nothing from the domain reaches
// the markup.
func sparkline(values []float64, floor float64, label string) template.HTML {
	const w, h = 120.0, 24.0
	max := floor
	for _, v := range values {
		if v > max {
			max = v
		}
	}
	var pts []string
	for i, v := range values {
		x := w
		if len(values) > 1 {
			x = float64(i) * w / float64(sparkPoints-1)
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, h-1-(v/max)*(h-2)))
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%g" height="%g" viewBox="0 0 %g %g" role="img" aria-label="%s"><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="%s"/></svg>`,
		w, h, w, h, template.HTMLEscapeString(label), strings.Join(pts, " ")))
}

// statsEvents streams the service's CPU and memory sparklines: the
// stack's samples from the Stats port while the page is open.
func (s *Server) statsEvents(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	es := newEventStream(w)
	byName := map[string]*series{}
	err := s.cfg.Ports.Stats.Stats(r.Context(), stack, func(sample StatsSample) error {
		seen := map[string]bool{}
		for _, st := range sample.Replicas {
			if st.Service != service {
				continue
			}
			seen[st.Name] = true
			sr, ok := byName[st.Name]
			if !ok {
				sr = &series{Name: st.Name}
				byName[st.Name] = sr
			}
			sr.add(st)
		}
		for name := range byName { // replicas gone (a rollout retired them)
			if !seen[name] {
				delete(byName, name)
			}
		}
		var list []*series
		for _, sr := range byName {
			list = append(list, sr)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		out, err := s.fragment("stats-body", map[string]any{"Series": list})
		if err != nil {
			return err
		}
		return es.send("update", out)
	})
	if err != nil && r.Context().Err() == nil {
		_ = es.send("update", []byte(`<p class="error" role="alert">`+template.HTMLEscapeString(err.Error())+`</p>`))
	}
}
