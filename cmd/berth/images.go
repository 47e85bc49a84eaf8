package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/api"
	"github.com/berth-dev/berth/internal/imageref"
)

// daemonRef makes a local reference's path absolute: see imageref.Absolute.
var daemonRef = imageref.Absolute

func newPullCommand() *cobra.Command {
	var socket string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Fetch an image into the daemon's store",
		Long: `Fetch an image (again, even when it is stored) from a registry, an OCI
layout (oci-layout:DIR[:TAG]) or a docker archive (docker-archive:FILE.tar).`,
		Example: `  berth pull alpine:3.20
  berth pull oci-layout:./out:web
  berth pull 127.0.0.1:5000/shop/web@sha256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := daemonRef(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return client.New(socket).Pull(cmd.Context(), ref, func(ev engine.PullEvent) error {
				switch {
				case ev.Status == "pulled":
					if quiet {
						fmt.Fprintln(out, ev.Digest)
					} else {
						fmt.Fprintf(out, "Pulled %s\nDigest: %s\n", ev.Ref, ev.Digest)
					}
				case !quiet:
					fmt.Fprintf(out, "Pulling %s\n", ev.Ref)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digest")
	addSocketFlag(cmd, &socket)
	return cmd
}

func newImagesCommand() *cobra.Command {
	var socket string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "images",
		Short:   "List the images in the daemon's store",
		Example: "  berth images\n  berth images --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			imgs, err := client.New(socket).Images(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeIndentedJSON(cmd.OutOrStdout(), imgs)
			}
			printImages(cmd.OutOrStdout(), imgs)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	addSocketFlag(cmd, &socket)
	return cmd
}

// printImages writes one row per name (an unnamed image gets "<none>").
func printImages(w io.Writer, imgs []engine.Image) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDIGEST\tSIZE\tCREATED\tCONTAINERS")
	for _, img := range imgs {
		names := img.Names
		if len(names) == 0 {
			names = []string{"<none>"}
		}
		created := createdAgo(img.Created, time.Now())
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", n, shortDigest(img.Digest), humanSize(img.Size), created, len(img.Containers))
		}
	}
	tw.Flush()
}

// createdAgo says how old an image is; reproducible builds are often
// stamped 1970 (SOURCE_DATE_EPOCH=0), so old ones get their date.
func createdAgo(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero():
		return "-"
	case d < 0:
		return t.UTC().Format("2006-01-02")
	case d < time.Minute:
		return "seconds ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2006-01-02")
}

func newRmiCommand() *cobra.Command {
	var socket string
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [-f] REF...",
		Short: "Remove images (or names of images) from the daemon's store",
		Long: `Remove images from the daemon's store. Given one of several names of an
image, only that name goes. An image that containers run is refused, naming
them, unless -f.`,
		Example: "  berth rmi alpine:3.20\n  berth rmi -f sha256:3f1e…",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := client.New(socket)
			var errs []error
			for _, a := range args {
				ref, err := daemonRef(a)
				if err == nil {
					err = c.RemoveImage(cmd.Context(), ref, force)
				}
				if err != nil {
					if errors.Is(err, api.ErrNoDaemon) {
						return err
					}
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %s\n", a)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even images that containers run")
	addSocketFlag(cmd, &socket)
	return cmd
}
