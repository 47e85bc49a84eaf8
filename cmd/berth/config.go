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
		Args:  cobra.NoArgs,
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
