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
		Args:  cobra.MaximumNArgs(1),
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
			return deploy.FollowDeploy(cmd.Context(), b, req, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, shortDigest)
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
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, b, err := f.stackBackend(cmd)
			if err != nil {
				return err
			}
			return deploy.FollowRollback(cmd.Context(), b, name, args[0], to, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON, shortDigest)
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
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, b, err := f.stackBackend(cmd)
			if err != nil {
				return err
			}
			h, err := b.History(cmd.Context(), name, args[0])
			if err != nil {
				return err
			}
			return deploy.ShowHistory(cmd.OutOrStdout(), cmd.ErrOrStderr(), name, args[0], h, asJSON, shortDigest)
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
