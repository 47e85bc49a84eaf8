package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/imageref"
)

// daemonRef makes a local reference's path absolute: see imageref.Absolute.
var daemonRef = imageref.Absolute

func newPullCommand() *cobra.Command {
	var socket string
	var out engine.PullOutput
	var pf cliflag.Progress
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Fetch an image into the daemon's store",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := daemonRef(args[0])
			if err != nil {
				return err
			}
			pr, err := pf.Renderer(cmd.ErrOrStderr(), out.Quiet || out.JSON)
			if err != nil {
				return err
			}
			out.W, out.Progress = cmd.OutOrStdout(), pr.Report
			return client.New(socket).Pull(cmd.Context(), ref, out.Event)
		},
	}
	cmd.Flags().BoolVarP(&out.Quiet, "quiet", "q", false, "print only the digest")
	cmd.Flags().BoolVar(&out.JSON, "json", false, `print the result as one JSON object: {"status":"pulled","ref":…,"digest":…}`)
	pf.Add(cmd.Flags())
	addSocketFlag(cmd, &socket)
	return cmd
}

func newImagesCommand() *cobra.Command {
	var socket string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List the images in the daemon's store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			imgs, err := client.New(socket).Images(cmd.Context())
			if err != nil {
				return err
			}
			return printResult(cmd.OutOrStdout(), asJSON, imgs, func(w io.Writer) { engine.WriteImages(w, imgs, shortDigest, humanSize) })
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addSocketFlag(cmd, &socket)
	return cmd
}

func newRmiCommand() *cobra.Command {
	var socket string
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [-f] REF...",
		Short: "Remove images (or names of images) from the daemon's store",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(socket)
			return removeEach(cmd, args, func(ctx context.Context, a string) error {
				ref, err := daemonRef(a)
				if err != nil {
					return err
				}
				return c.RemoveImage(ctx, ref, force)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even images that containers run")
	addSocketFlag(cmd, &socket)
	return cmd
}
