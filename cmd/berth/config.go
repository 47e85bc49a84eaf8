package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/stack"
)

func newConfigCommand() *cobra.Command {
	var (
		files, set, profiles []string
		env, project         string
		asJSON               bool
	)
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Validate a stack file and print the normalised stack",
		Long: `config loads berth.yaml's services: (with --env, one of its environments:
applied) or a compose file, validates it and prints the stack berth would
run: variables interpolated, env_file merged, paths made absolute, short
syntax expanded, services in dependency order. Attributes berth does not
support are listed once on stderr. Secret values are never read or printed;
only where they come from.`,
		Example: `  # Check compose.yaml and show what berth makes of it
  berth config -f compose.yaml

  # berth.yaml with its prod environment, as JSON
  berth config --env prod --set TAG=1.4.2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vars := map[string]string{}
			for _, kv := range set {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want KEY=VALUE", kv)
				}
				vars[k] = v
			}
			st, warns, err := stack.Load(cmd.Context(), stack.LoadOptions{
				Files: files, Env: env, ProjectName: project, Profiles: profiles, Set: vars,
			})
			if err != nil {
				return err
			}
			if err := printStack(cmd.OutOrStdout(), st, asJSON); err != nil {
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
	fl.StringVar(&env, "env", "", "berth.yaml environment to apply (environments: NAME)")
	fl.StringArrayVar(&set, "set", nil, "set a variable: --set KEY=VALUE (repeatable; overrides the environment, .env and vars:)")
	fl.StringArrayVar(&profiles, "profile", nil, "activate a compose profile (repeatable; default $COMPOSE_PROFILES)")
	fl.StringVarP(&project, "project-name", "p", "", "stack name (default: from the file or its directory)")
	fl.BoolVar(&asJSON, "json", false, "print JSON instead of YAML")
	return cmd
}

// printStack writes the stack as indented JSON or as YAML with the fields
// in the model's order (not sorted), going through the JSON form so both
// outputs carry the same names and duration strings.
func printStack(w io.Writer, st *stack.Stack, asJSON bool) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if asJSON {
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	// JSON is YAML: parse it into nodes (which keep key order) and drop
	// the JSON flow and quoting styles before encoding.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

func blockStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		switch {
		case strings.Contains(n.Value, "\n"):
			n.Style = yaml.LiteralStyle
		case yaml11Bools[strings.ToLower(n.Value)]:
			// YAML 1.1 readers take these for booleans.
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	for i, c := range n.Content {
		blockStyle(c)
		// File modes read better in octal, as they are written.
		if n.Kind == yaml.MappingNode && i%2 == 1 && c.Tag == "!!int" {
			if k := n.Content[i-1].Value; k == "mode" || k == "tmpfs_mode" {
				if v, err := strconv.ParseUint(c.Value, 10, 32); err == nil {
					c.Value = "0o" + strconv.FormatUint(v, 8)
				}
			}
		}
	}
}

var yaml11Bools = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true}
