package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/stack"
)

func newConfigCommand() *cobra.Command {
	var (
		files, set, profiles []string
		project              string
		environment          cliflag.Environment
		asJSON               bool
	)
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Validate a stack file and print the normalised stack",
		Long: `config loads berth.yaml's services: (with -E/--environment, one of its environments:
applied) or a compose file, validates it and prints the stack berth would
run: variables interpolated, env_file merged, paths made absolute, short
syntax expanded, services in dependency order. Attributes berth does not
support are listed once on stderr. Secret values are never read or printed;
only where they come from.

The output is berth's model of the stack (services as a list, ports and
mounts in long form, absolute paths), for reading and diffing; it is not a
file berth loads: keep the compose file or berth.yaml as the source, and
berth config -f on the output says so.`,
		Example: `  # Check compose.yaml and show what berth makes of it
  berth config -f compose.yaml

  # berth.yaml with its prod environment, as JSON
  berth config -E prod --set TAG=1.4.2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := environment.Resolve(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			vars, err := cliflag.ParseSet(set)
			if err != nil {
				return err
			}
			st, warns, err := stack.Load(cmd.Context(), stack.LoadOptions{
				Files: files, Env: env, ProjectName: project, Profiles: profiles, Set: vars,
			})
			if err != nil {
				return err
			}
			if err := stack.Print(cmd.OutOrStdout(), st, asJSON); err != nil {
				return err
			}
			if msg := stack.FormatWarnings(warns); msg != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&files, "file", "f", nil, "berth.yaml or compose file; compose files may be repeated (later ones override) (default: berth.yaml, compose.yaml, docker-compose.yml in this directory)")
	environment.Add(fl)
	fl.StringArrayVar(&set, "set", nil, "set a variable: --set KEY=VALUE (repeatable; overrides the environment, .env and vars:)")
	fl.StringArrayVar(&profiles, "profile", nil, "activate a compose profile (repeatable; default $COMPOSE_PROFILES)")
	fl.StringVarP(&project, "project-name", "p", "", "stack name (default: from the file or its directory)")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of YAML")
	return cmd
}
