package errtext

import (
	"fmt"
	"strings"
)

// commandHints answer, at the top level, the docker and compose commands
// berth has no command for by pointing at what does the job (cobra's
// edit-distance suggestions would offer ps for push, logs for login).
var commandHints = map[string]string{
	"push":    "images are pushed by `berth build --push REF`, or built, pushed and deployed by `berth ship`",
	"stop":    "`berth down` stops and removes a stack's containers",
	"start":   "`berth up` creates and starts a stack's containers",
	"run":     "berth runs stacks: declare the service in compose.yaml or berth.yaml, then `berth up`",
	"rm":      "`berth down` removes a stack's containers, `berth rmi` images, `berth volume rm` volumes",
	"restart": "`berth deploy SERVICE` replaces a service's containers with zero downtime",
	"login":   "berth has no login: registry credentials come from the docker config (~/.docker/config.json), as written by `docker login` or `crane auth login`",
	"logout":  "berth has no logout: registry credentials come from the docker config (~/.docker/config.json)",
}

// UnknownCommand is the error for an unknown subcommand name of the
// command at path: at the top level (root) a hint for docker and compose
// commands berth does without, else the suggested names, else a pointer
// to the command's help.
func UnknownCommand(name, path string, root bool, suggestions []string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, path)
	if hint, ok := commandHints[name]; ok && root {
		return fmt.Errorf("%s: %s", msg, hint)
	}
	if len(suggestions) > 0 {
		return fmt.Errorf("%s; did you mean %s? (see %q)", msg, quoteAll(suggestions), path+" --help")
	}
	return fmt.Errorf("%s (see %q)", msg, path+" --help")
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
