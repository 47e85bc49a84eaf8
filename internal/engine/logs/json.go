package logs

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// JSONLine is one line of `berth logs --json`: one object per log line,
// lower-camel like berth's other JSON.
type JSONLine struct {
	Time      time.Time `json:"time"`
	Service   string    `json:"service"`
	Replica   int       `json:"replica"`
	Container string    `json:"container"`
	Stream    string    `json:"stream"` // stdout or stderr
	Message   string    `json:"message"`
}

// Line is e as a JSONLine. stack is the stack's name: containers are
// named STACK-SERVICE-N (service names may hold '-' themselves).
func Line(e Entry, stack string) JSONLine {
	l := JSONLine{Time: e.Time.UTC(), Container: e.Source, Stream: e.Stream, Message: strings.TrimSuffix(strings.TrimSuffix(e.Log, "\n"), "\r")}
	rest := strings.TrimPrefix(e.Source, stack+"-")
	if i := strings.LastIndexByte(rest, '-'); i > 0 {
		if n, err := strconv.Atoi(rest[i+1:]); err == nil && n >= 1 && strconv.Itoa(n) == rest[i+1:] {
			l.Service, l.Replica = rest[:i], n
		}
	}
	return l
}

// WriteJSON writes e as one JSON object on a line of its own.
func WriteJSON(w io.Writer, e Entry, stack string) error {
	return json.NewEncoder(w).Encode(Line(e, stack))
}
