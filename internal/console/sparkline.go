package console

import (
	"fmt"
	"html/template"
	"net/http"
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

// statsEvents streams the service's CPU and memory sparklines from its
// shared sampler (statsHub), which renders them once per sample for every
// page open on the service.
func (s *Server) statsEvents(w http.ResponseWriter, r *http.Request) {
	stack, service := r.PathValue("stack"), r.PathValue("service")
	sub, cancel := s.stats.subscribe(stack, service)
	defer cancel()
	streamUpdates(w, r, sub.C, func(struct{}) ([]byte, bool, bool) {
		out, err := sub.fragment()
		if err != nil {
			return errorFragment(err), true, true
		}
		return out, true, false
	})
}
