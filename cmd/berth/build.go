package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/release"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

func newBuildCommand() *cobra.Command {
	var sf cliflag.Spec
	var out build.Output
	var variant, key string
	var asJSON, quiet bool
	var pf cliflag.Progress
	cmd := &cobra.Command{
		Use:   "build [IMAGE...]",
		Short: "Build images declared in berth.yaml, reproducibly, with no RUN steps",
		RunE: func(cmd *cobra.Command, args []string) error {
			if out.Count() > 1 {
				return errors.New("give at most one of --push, --oci-layout, --docker-archive")
			}
			pr, err := pf.Renderer(cmd.ErrOrStderr(), quiet || asJSON)
			if err != nil {
				return err
			}
			file, err := sf.Load()
			if err != nil {
				return err
			}
			names := args
			if len(names) == 0 {
				names = file.ImageOrder
			}
			var progress io.Writer = cmd.ErrOrStderr()
			if quiet || asJSON {
				progress = nil
			}
			b, err := build.New(file, progress)
			if err != nil {
				return err
			}
			b.RefOptions.Progress = pr.Report
			if err := b.LockFirst(cmd.Context()); err != nil {
				return err
			}
			if key != "" && out.Push == "" {
				return errors.New("--key signs what --push pushes: give --push")
			}
			// Every pushed image gets its SBOMs and provenance attached;
			// with --key, signed, and the image signed by digest too.
			so := sign.Options{Insecure: b.RefOptions.Insecure, Transport: b.RefOptions.Transport}
			signer, attester, err := trust.Signing(key, sign.Prompt{Out: cmd.ErrOrStderr()}, so)
			if err != nil {
				return err
			}
			b.Pushed = release.Pushed(signer, attester, &release.SpecBuilder{B: b, Version: version}, variant, progress)
			return b.BuildAndReport(cmd.Context(), cmd.OutOrStdout(), names, variant, out, build.Report{JSON: asJSON, Quiet: quiet})
		},
	}
	sf.Add(cmd.Flags())
	sf.AddDockerfile(cmd.Flags())
	cmd.Flags().StringVar(&variant, "variant", "", "build this variant (e.g. dev) instead of the plain (prod) image")
	cmd.Flags().StringVar(&out.Push, "push", "", "push to this registry reference (with several images: a prefix ending in '/')")
	cmd.Flags().StringVar(&out.OCILayout, "oci-layout", "", "write into this OCI layout directory (tagged with the image name)")
	cmd.Flags().StringVar(&out.DockerArchive, "docker-archive", "", "write a docker-archive tar into `FILE` (for docker load -i FILE)")
	cmd.Flags().StringVar(&key, "key", "", "with --push: sign each pushed image (by digest) and its SBOM and provenance attestations with this cosign private key")
	cmd.Flags().StringVar(&out.Tag, "tag", "latest", "tag used with --docker-archive and with a --push prefix")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digests, one line per image")
	pf.Add(cmd.Flags())
	return cmd
}

func newLockCommand() *cobra.Command {
	var sf cliflag.Spec
	cmd := &cobra.Command{
		Use:   "lock [IMAGE...]",
		Short: "Resolve every Debian package again and write berth.lock",
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := sf.Load()
			if err != nil {
				return err
			}
			b, err := build.New(file, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := b.LockAll(cmd.Context(), args); err != nil {
				return err
			}
			if err := b.Lock.Write(b.LockPath); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d layers, %d packages\n", b.LockPath, len(b.Lock.Layers), b.Lock.Packages())
			return nil
		},
	}
	sf.Add(cmd.Flags())
	return cmd
}
