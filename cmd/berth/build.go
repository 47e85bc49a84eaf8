package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
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
			var log io.Writer = cmd.ErrOrStderr()
			if quiet || asJSON {
				log = nil
			}
			return release.Build(cmd.Context(), release.BuildRequest{
				File: file, Names: args, Variant: variant, Out: out, Report: build.Report{JSON: asJSON, Quiet: quiet},
				Log: log, Progress: pr.Report, Signed: key != "", Version: version, Stdout: cmd.OutOrStdout(),
				Signing: func(o imageref.Options) (policy.Signer, release.Attester, error) {
					// Every pushed image gets its SBOMs and provenance attached;
					// with --key, signed, and the image signed by digest too.
					so := sign.Options{Insecure: o.Insecure, Transport: o.Transport}
					return trust.Signing(key, sign.Prompt{Out: cmd.ErrOrStderr()}, so)
				},
			})
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
			return b.Relock(cmd.Context(), args, cmd.OutOrStdout())
		},
	}
	sf.Add(cmd.Flags())
	return cmd
}
