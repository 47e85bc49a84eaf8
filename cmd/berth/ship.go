package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/engine/client"
)

func newShipCommand() *cobra.Command {
	var f stackFlags
	var tag string
	var timeout time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ship",
		Short: "Build, push and deploy in one step",
		Long: `ship builds the images of the stack's services that have build: (berth.yaml
images:), pushes them to the environment's registry (environments: NAME:
registry, repository) and deploys them by digest with a zero-downtime
rollout — what runs is exactly what was pushed. Without --env the images go
to the local cache and are deployed from there.`,
		Example: `  berth ship
  berth ship --env staging --tag 1.4.0
  berth ship --env prod --set VERSION=1.4.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.load(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			var dest func(image, variant string) string
			if f.env != "" {
				t, err := f.envTarget(st, "to ship to")
				if err != nil {
					return err
				}
				tg := tag
				if tg == "" {
					tg = "latest"
				}
				dest = func(image, variant string) string { return t.Ref(image, variantTag(tg, variant)) }
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "building…")
			if err := f.buildServiceImagesTo(cmd.Context(), st, cmd.ErrOrStderr(), dest); err != nil {
				return err
			}
			spec, err := toSpec(st)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "deploying…")
			req := deploy.Request{Spec: spec, ReadyTimeout: timeout}
			return runDeploy(cmd.Context(), func(fn func(deploy.StreamLine) error) error {
				return client.New(f.socket).Deploy(cmd.Context(), req, fn)
			}, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&tag, "tag", "", "tag to push the images as (default latest; deploys pin the digest either way)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long one new replica may take to become healthy")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// variantTag is the tag a variant of an image is pushed under: TAG-VARIANT
// (ship) and looked up under (deploy --tag).
func variantTag(tag, variant string) string {
	if variant == "" {
		return tag
	}
	return tag + "-" + variant
}
