package main

import (
	"errors"
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
		Long: `Scan lists the packages of an image — Debian packages from its dpkg records
(var/lib/dpkg/status and status.d/), Go modules and the Go version from the
build info of every Go binary — or reads them from an SPDX 2.3 or CycloneDX
JSON SBOM (--sbom), and matches them against the local vulnerability
database ("berth vulndb import"). Nothing is fetched from the network.

Debian packages match by SOURCE package (the purl's upstream=, as Debian
files its advisories) against the Debian:12 records, with Debian version
ordering; a record without a fixed version means no fix yet, and the package
is reported. Go modules and the standard library match by semver.

Severity comes from the record's CVSS v3 vector (the base score: critical
≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low) or its stated severity; records with
neither (all Go records, most Debian ones) are "unknown".

--vex FILE|DIR (repeatable) reads OpenVEX documents: a statement with status
not_affected or fixed silences the findings of the vulnerability it names
(by id or alias) for the products it names (a package purl, or the image by
digest, optionally narrowed to subcomponents). Suppressed findings are left
out of the table and SARIF, marked "suppressed" in --json and given their
analysis state in CycloneDX.

--fail-on SEVERITY exits 1, after printing the report, when an unsuppressed
finding is at or above SEVERITY (critical, high, medium, low; unknown = any
finding).

--attest attaches the result to the scanned image (a registry image, by
the digest scanned) as cosign's vulnerability attestation (predicate type
https://cosign.sigstore.dev/attestation/vuln/v1): signed with --key (a
cosign private key; its password from BERTH_PASSWORD or COSIGN_PASSWORD, or
asked), else as a bare in-toto statement. It is attached before --fail-on
decides the exit status.

An image's packages are its SBOM inventory: the same packages, with the
same purls, as the SBOM berth attaches when it pushes the image (cached by
digest in $BERTH_CACHE/sbom).

` + imageRefHelp,
		Example: `  # An image in berth's registry
  berth scan localhost:5000/app:1.2.3

  # Fail CI on high or critical findings, with the team's VEX statements
  berth scan localhost:5000/app:1.2.3 --fail-on high --vex vex/

  # An SBOM from berth sbom, syft or trivy, as SARIF for code scanning
  berth scan --sbom app.spdx.json --format sarif > scan.sarif

  # Attach the signed result to the image (berth verify --attestations --type vuln)
  berth scan localhost:5000/app:1.2.3 --attest --key cosign.key

  # CycloneDX VEX (vulnerabilities[] with affects refs)
  berth scan oci-layout:./out:app --format cyclonedx`,
		Args: func(cmd *cobra.Command, args []string) error {
			if sbom == "" && len(args) != 1 {
				return errors.New("scan needs an IMAGE or --sbom FILE")
			}
			if sbom != "" && len(args) != 0 {
				return errors.New("scan takes an IMAGE or --sbom FILE, not both")
			}
			if sbom != "" && attest {
				return errors.New("--attest attaches the scan to an image: it needs IMAGE, not --sbom")
			}
			if keyPath != "" && !attest {
				return errors.New("--key signs the attestation: it needs --attest")
			}
			return nil
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
