// Package logging makes the slog loggers of berth's services.
package logging

import (
	"log/slog"
	"os"
)

// New returns berth's JSON logger on stderr at level (debug, info, warn,
// error; anything else is info).
func New(level string) *slog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
