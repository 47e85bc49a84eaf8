package console

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/inspect"
)

// funcs are the templates' helpers; all return text, which html/template
// escapes where it lands.
var funcs = template.FuncMap{
	"prev": func(n int) int { return n - 1 },
	// rollbackPath is a revision's rollback confirmation page (where an
	// anonymous reader's login link leads back to).
	"rollbackPath": func(stack, service string, to int) string {
		return "/stacks/" + url.PathEscape(stack) + "/services/" + url.PathEscape(service) + "/rollback?to=" + strconv.Itoa(to)
	},
	"short": func(digest string) string {
		_, hex, ok := strings.Cut(digest, ":")
		if !ok {
			hex = digest
		}
		if len(hex) > 12 {
			hex = hex[:12]
		}
		return hex
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"size":     inspect.HumanSize,
	"percent":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"running":  running,
	"cpuSpark": func(s *series) template.HTML { return sparkline(s.CPU, 100, "CPU of "+s.Name) },
	"memSpark": func(s *series) template.HTML { return sparkline(s.Mem, 1<<20, "memory of "+s.Name) },
	"last": func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		return xs[len(xs)-1]
	},
	"cpu":      func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"mem":      func(f float64) string { return inspect.HumanSize(int64(f)) },
	"restarts": restarts,
	"health":   healthOf,
	"ports":    portsOf,
	"digests":  digestsOf,
	"revision": revisionOf,
}

func running(s Service) int {
	n := 0
	for _, r := range s.Replicas {
		if r.State == "running" {
			n++
		}
	}
	return n
}

func restarts(s Service) int {
	n := 0
	for _, r := range s.Replicas {
		n += r.Restarts
	}
	return n
}

// healthOf summarises the replicas' health: the worst one wins.
func healthOf(s Service) string {
	rank := map[string]int{"": 0, "healthy": 1, "starting": 2, "unhealthy": 3}
	worst := ""
	for _, r := range s.Replicas {
		h := r.Health
		if r.State != "running" {
			h = "unhealthy"
		}
		if rank[h] > rank[worst] {
			worst = h
		}
	}
	if worst == "" && len(s.Replicas) > 0 {
		return "running"
	}
	if len(s.Replicas) == 0 {
		return "none"
	}
	return worst
}

func uniq(f func(Replica) []string, s Service) string {
	var out []string
	seen := map[string]bool{}
	for _, r := range s.Replicas {
		for _, v := range f(r) {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return strings.Join(out, ", ")
}

func portsOf(s Service) string { return uniq(func(r Replica) []string { return r.Ports }, s) }

func digestsOf(s Service) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range s.Replicas {
		if r.Digest != "" && !seen[r.Digest] {
			seen[r.Digest] = true
			out = append(out, r.Digest)
		}
	}
	return out
}

// revisionOf is the revisions the replicas run, "3" or "3, 4" mid-rollout.
func revisionOf(s Service) string {
	return uniq(func(r Replica) []string {
		if r.Revision == 0 {
			return nil
		}
		return []string{strconv.Itoa(r.Revision)}
	}, s)
}
