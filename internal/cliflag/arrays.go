package cliflag

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// arrayValueNames name the values of repeatable flags in the help, which
// would otherwise show pflag's type name ("--set stringArray").
var arrayValueNames = map[string]string{"file": "FILE", "set": "KEY=VALUE", "env": "KEY=VALUE", "profile": "NAME", "env-file": "FILE"}

// namedValue is a flag value shown under another type name in the help;
// parsing is the wrapped value's.
type namedValue struct {
	pflag.Value
	name string
}

func (v namedValue) Type() string { return v.name }

// NameArrays gives every repeatable (stringArray) flag of the tree a
// readable value name, unless its usage names one in backquotes.
func NameArrays(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Value.Type() != "stringArray" || strings.Contains(f.Usage, "`") {
			return
		}
		name, ok := arrayValueNames[f.Name]
		if !ok {
			name = "VALUE"
		}
		f.Value = namedValue{Value: f.Value, name: name}
		if f.DefValue == "[]" {
			f.DefValue = "" // not "(default [])"
		}
	})
	for _, c := range cmd.Commands() {
		NameArrays(c)
	}
}

// Array reads a repeatable flag, named or not.
func Array(cmd *cobra.Command, name string) []string {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return nil
	}
	if s, ok := f.Value.(namedValue); ok {
		f = &pflag.Flag{Value: s.Value}
	}
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.GetSlice()
	}
	return nil
}
