package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/cliflag"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/trust"
)

func newScanCommand() *cobra.Command {
	var (
		flags   cliflag.Image
		sbom    string
		dbFlag  string
		format  string
		asJSON  bool
		failOn  string
		vexList []string
		attest  bool
		keyPath string
	)
	cmd := &cobra.Command{
		Use:   "scan IMAGE | --sbom FILE",
		Short: "Report the known vulnerabilities of an image's packages, offline",
		Args: func(cmd *cobra.Command, args []string) error {
			return trust.CheckScanArgs(args, sbom, attest, keyPath)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON {
				if cmd.Flags().Changed("format") && format != "json" {
					return fmt.Errorf("--json and --format %s: choose one", format)
				}
				format = "json"
			}
			req := trust.ScanRequest{
				SBOM: sbom, DB: dbFlag, Cache: trustCache(), Format: format, FailOn: failOn, VEX: vexList,
				Attest: attest, KeyPath: keyPath, Prompt: sign.Prompt{Out: cmd.ErrOrStderr()},
				Version: version, Out: cmd.OutOrStdout(), Log: cmd.ErrOrStderr(),
			}
			if sbom == "" {
				o, err := flags.Options()
				if err != nil {
					return err
				}
				req.Image, req.ImageOptions = args[0], o
			}
			_, err := trust.RunScan(cmd.Context(), req)
			return err
		},
	}
	flags.Add(cmd.Flags())
	cmd.Flags().StringVar(&sbom, "sbom", "", "scan the packages of this SPDX or CycloneDX JSON SBOM instead of an image")
	cmd.Flags().StringVar(&dbFlag, "db", "", "vulnerability database (default $BERTH_CACHE/vulndb.db)")
	cmd.Flags().StringVar(&format, "format", "table", "output: table, json, sarif or cyclonedx")
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as --format json")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit 1 when a finding is at or above this severity (critical, high, medium, low, unknown)")
	cmd.Flags().StringArrayVar(&vexList, "vex", nil, "OpenVEX document or directory of them (repeatable)")
	cmd.Flags().BoolVar(&attest, "attest", false, "attach the result to the image as cosign's vuln attestation")
	cmd.Flags().StringVar(&keyPath, "key", "", "sign the --attest attestation with this cosign private key (default: unsigned)")
	return cmd
}
