package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/deploy"
	"github.com/berth-dev/berth/internal/release"
)

func newDeployCommand() *cobra.Command {
	var f stackFlags
	var image string
	var timeout time.Duration
	var asJSON bool
	var tag string
	cmd := &cobra.Command{
		Use:   "deploy [SERVICE]",
		Short: "Roll out a new release with zero downtime",
		Long: `deploy applies the stack file's desired state: services that are new are
started, services whose image or configuration changed are rolled out, the
rest are left alone. Tags are resolved once and the digest is what runs and
what berth history records.

A rollout follows the service's deploy.update_config (defaults: one replica
at a time, start-first — stop-first when the service writes to a volume —,
5 s monitor, failure_action rollback): start a new replica, wait until it is
healthy, let the proxy switch to it, drain the old one (in-flight requests
finish) and stop it. When new replicas fail their health check, exit or do
not become ready in --timeout, the previous revision is restored and deploy
exits non-zero.

Services built from berth.yaml images (build: NAME) are built first, unless
--tag is given with -E/--environment: then they run the images the environment's
registry holds under that tag (pushed by berth ship, or copied there by
berth promote), resolved to their digests; nothing is rebuilt.`,
		Example: `  berth deploy
  berth deploy -E prod --tag 2.1.0
  berth deploy app --image 127.0.0.1:5000/shop/app:2.1.0
  berth deploy --set VERSION=2.1.0 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image != "" && len(args) == 0 {
				return fmt.Errorf("--image needs the SERVICE it is for (berth deploy SERVICE --image REF)")
			}
			st, err := f.load(cmd)
			if err != nil {
				return err
			}
			req := deploy.Request{ReadyTimeout: timeout}
			if len(args) == 1 {
				if err := release.SelectService(st, args[0], image); err != nil {
					return err
				}
				req.Services = []string{args[0]}
			}
			r := release.Request{Mode: release.Deploy, Env: f.Env, Tag: tag, Targets: f.Targets(st)}
			if req.Spec, err = f.pipeline(cmd, st, asJSON).Prepare(cmd.Context(), st, r); err != nil {
				return err
			}
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
	cmd.Flags().StringVar(&image, "image", "", "deploy this image reference for SERVICE instead of the file's")
	cmd.Flags().StringVar(&tag, "tag", "", "with -E/--environment: deploy the images the environment's registry holds under this tag instead of building them")
	cliflag.TimeoutVarP(cmd.Flags(), &timeout, "timeout", "", 2*time.Minute, "how long one new replica may take to become healthy, in seconds (or a duration like 2m)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newRollbackCommand() *cobra.Command {
	var f stackFlags
	var to int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rollback SERVICE",
		Short: "Roll a service back to an earlier revision",
		Long: `rollback rolls SERVICE back, with the same zero-downtime rollout as deploy,
to the deployed revision before the current one, or to --to REVISION (see
berth history). The rollback is recorded as a new revision.`,
		Example: "  berth rollback app\n  berth rollback app --to 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, b, err := f.stackBackend(cmd)
			if err != nil {
				return err
			}
			return deploy.Follow(func(fn func(deploy.StreamLine) error) error {
				return b.Rollback(cmd.Context(), name, args[0], to, fn)
			}, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().IntVar(&to, "to", 0, "revision to roll back to (default: the one before the current)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func newHistoryCommand() *cobra.Command {
	var f stackFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history SERVICE",
		Short: "List a service's deployed revisions",
		Long: `history lists SERVICE's revisions, oldest first: the image and the digest
it was pinned to, the configuration hash, when it was deployed, how the
rollout ended, and which one runs now (*).`,
		Example: "  berth history app\n  berth history -p shop app --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, b, err := f.stackBackend(cmd)
			if err != nil {
				return err
			}
			h, err := b.History(cmd.Context(), name, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), h)
			}
			if len(h) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no revisions of %s in stack %s yet (berth deploy records them)\n", args[0], name)
				return nil
			}
			return deploy.WriteHistory(cmd.OutOrStdout(), h, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
