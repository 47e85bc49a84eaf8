package errtext

import "testing"

func TestUnknownCommand(t *testing.T) {
	for _, c := range []struct {
		name, path string
		root       bool
		sugg       []string
		want       string
	}{
		{"push", "berth", true, []string{"ps"}, "unknown command \"push\" for \"berth\": images are pushed by `berth build --push REF`, or built, pushed and deployed by `berth ship`"},
		{"push", "berth registry", false, nil, `unknown command "push" for "berth registry" (see "berth registry --help")`},
		{"serv", "berth registry", false, []string{"serve", "gc"}, `unknown command "serv" for "berth registry"; did you mean "serve" or "gc"? (see "berth registry --help")`},
	} {
		if got := UnknownCommand(c.name, c.path, c.root, c.sugg).Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
