package main

import (
	"cmp"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.load(cmd)
			if err != nil {
				return err
			}
			p := f.pipeline(cmd, st, asJSON)
			// With --key (or $BERTH_SIGNING_KEY) ship signs every image it
			// pushes, by digest, before the environment's policy is
			// checked, and the attestations it attaches.
			signer, attester, err := trust.Signing(cmp.Or(key, os.Getenv(trust.SigningKeyEnv)), sign.Prompt{}, sign.Options{})
			if err != nil {
				return err
			}
			p.Policy.Signer, p.Attester = signer, attester
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
			return deploy.FollowDeploy(cmd.Context(), b, req, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&tag, "tag", "", "with -E/--environment: tag to push the images as (default latest; deploys pin the digest either way)")
	cliflag.TimeoutVarP(cmd.Flags(), &timeout, "timeout", "", 2*time.Minute, "how long one new replica may take to become healthy, in seconds (or a duration like 2m)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&key, "key", "", "cosign private key to sign the pushed images with when the environment's policy requires signatures (default $BERTH_SIGNING_KEY)")
	return cmd
}
