package cliflag

import (
	"io"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/progress"
)

// Progress is --progress auto|tty|plain|json|quiet: how push, pull and
// promote show their layers moving (see internal/progress).
type Progress struct{ mode string }

// Add registers --progress.
func (p *Progress) Add(fl *pflag.FlagSet) {
	fl.StringVar(&p.mode, "progress", "auto", "layer progress on stderr: auto (tty on a terminal, else plain), tty, plain (a line per finished layer), json (an object per event) or quiet")
}

// Renderer draws on w (stderr) in the mode asked; resultOnly (-q, --json)
// makes auto quiet, so only an explicit mode shows progress then.
func (p *Progress) Renderer(w io.Writer, resultOnly bool) (*progress.Renderer, error) {
	m, err := progress.ParseMode(p.mode)
	if err != nil {
		return nil, err
	}
	return progress.New(w, m.Resolve(progress.IsTerminal(w), resultOnly)), nil
}
