package cliflag

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/internal/stack"
)

// timeoutValue is a timeout flag as compose takes it: plain numbers are
// seconds, Go durations work too (stack.ParseTimeout).
type timeoutValue struct{ d *time.Duration }

func (v timeoutValue) String() string {
	if v.d == nil || *v.d == 0 {
		return ""
	}
	return v.d.String()
}

func (v timeoutValue) Set(s string) error {
	d, err := stack.ParseTimeout(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v timeoutValue) Type() string { return "SECONDS" }

// TimeoutVarP registers a seconds-or-duration flag.
func TimeoutVarP(fl *pflag.FlagSet, d *time.Duration, name, short string, def time.Duration, usage string) {
	*d = def
	fl.VarP(timeoutValue{d}, name, short, usage)
}
