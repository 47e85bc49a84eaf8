package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/release"
)

func newShipCommand() *cobra.Command {
	var f stackFlags
	var tag string
	var timeout time.Duration
	var asJSON bool
	var key string
	cmd := &cobra.Command{
		Use:   "ship",
		Short: "Build, push and deploy in one step",
		Long: `ship builds the images of the stack's services that have build: (berth.yaml
images:), pushes them to the environment's registry (environments: NAME:
registry, repository) and deploys them by digest with a zero-downtime
rollout — what runs is exactly what was pushed. Without -E/--environment the images go
to the local cache and are deployed from there.

When the environment has a policy: (berth.yaml), the images are pushed by
digest only, checked against it, and tagged only when every image passes;
with --key (or $BERTH_SIGNING_KEY) and a policy requiring signatures, ship
signs each pushed digest first.`,
		Example: `  berth ship
  berth ship -E staging --tag 1.4.0
  berth ship -E prod --set VERSION=1.4.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.load(cmd)
			if err != nil {
				return err
			}
			p := f.pipeline(cmd, st, asJSON)
			if err := shipSigning(p, key); err != nil {
				return err
			}
			spec, err := p.Prepare(cmd.Context(), st, release.Request{Mode: release.Ship, Env: f.Env, Tag: tag, Targets: f.Targets(st)})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "deploying…")
			req := deploy.Request{Spec: spec, ReadyTimeout: timeout}
			b, err := f.backend(st)
			if err != nil {
				return err
			}
			return deploy.Follow(func(fn func(deploy.StreamLine) error) error {
				return b.Deploy(cmd.Context(), req, fn)
			}, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&tag, "tag", "", "with -E/--environment: tag to push the images as (default latest; deploys pin the digest either way)")
	cliflag.TimeoutVarP(cmd.Flags(), &timeout, "timeout", "", 2*time.Minute, "how long one new replica may take to become healthy, in seconds (or a duration like 2m)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&key, "key", "", "cosign private key to sign the pushed images with when the environment's policy requires signatures (default $BERTH_SIGNING_KEY)")
	return cmd
}
