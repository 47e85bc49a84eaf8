package trust

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/vuln"
)

// ScanRequest is one `berth scan`: an image or an SBOM file, matched
// against the vulnerability database, the report written, optionally
// attached to the image.
type ScanRequest struct {
	// Image is the image to scan, or SBOM the SBOM file (one of them).
	Image string
	SBOM  string
	// ImageOptions say how to reach Image's registry.
	ImageOptions imageref.Options
	// DB is --db: the vulnerability database file, else the one in Cache
	// (where the image inventories are cached too).
	DB    string
	Cache Cache
	// Format is the report's format (vuln.Writer); FailOn, when set, the
	// severity at or above which an unsuppressed finding fails the scan.
	Format string
	FailOn string
	// VEX are OpenVEX documents or directories of them.
	VEX []string
	// Attest attaches the result to Image, signed with KeyPath (its
	// password asked through Prompt) when set.
	Attest  bool
	KeyPath string
	Prompt  sign.Prompt
	// Version is berth's, named in the reports and the attestation.
	Version string
	// Out gets the report, Log what was attached.
	Out, Log io.Writer
}

// CheckScanArgs refuses what `berth scan` cannot do, before anything is
// read: it takes one IMAGE (args) or --sbom FILE; --attest attaches to an
// image; --key signs only --attest's attestation.
func CheckScanArgs(args []string, sbom string, attest bool, keyPath string) error {
	switch {
	case sbom == "" && len(args) != 1:
		return errors.New("scan needs an IMAGE or --sbom FILE")
	case sbom != "" && len(args) != 0:
		return errors.New("scan takes an IMAGE or --sbom FILE, not both")
	case sbom != "" && attest:
		return errors.New("--attest attaches the scan to an image: it needs IMAGE, not --sbom")
	case keyPath != "" && !attest:
		return errors.New("--key signs the attestation: it needs --attest")
	}
	return nil
}

// RunScan runs r: every input is checked (format, fail-on, VEX, key)
// before the database is opened; the report is written and attached before
// FailOn decides the error.
func RunScan(ctx context.Context, r ScanRequest) (*vuln.Result, error) {
	write, err := vuln.Writer(r.Format, r.Version)
	if err != nil {
		return nil, err
	}
	if r.FailOn != "" {
		if _, err := vuln.ParseSeverity(r.FailOn); err != nil {
			return nil, fmt.Errorf("--fail-on: %w", err)
		}
	}
	var vex *vuln.VEX
	if len(r.VEX) > 0 {
		if vex, err = vuln.LoadVEX(r.VEX); err != nil {
			return nil, err
		}
	}
	var key *sign.PrivateKey
	if r.KeyPath != "" {
		if key, err = r.Prompt.PrivateKey(r.KeyPath); err != nil {
			return nil, err
		}
	}
	path, err := r.Cache.VulnDB(r.DB)
	if err != nil {
		return nil, err
	}
	db, err := vuln.OpenDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	target, purls, err := scanTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	res, err := vuln.Scan(target, purls, db, vex)
	if err != nil {
		return nil, err
	}
	res.Database = db.Path()
	if err := write(r.Out, res); err != nil {
		return nil, err
	}
	if r.Attest {
		st, err := db.Stats()
		if err != nil {
			return nil, err
		}
		a, err := AttestScan(ctx, res, st, r.Version, key, sign.Options{Insecure: r.ImageOptions.Insecure})
		if err != nil {
			return nil, err
		}
		how := "unsigned"
		if a.Signed {
			how = "signed"
		}
		fmt.Fprintf(r.Log, "attached the scan to %s (%s): %s\n", a.Ref, how, a.Referrer)
	}
	if r.FailOn != "" {
		if err := res.FailOn(r.FailOn); err != nil {
			return res, err
		}
	}
	return res, nil
}

// scanTarget names what r scans and lists its packages as purls.
func scanTarget(ctx context.Context, r ScanRequest) (vuln.Target, []string, error) {
	if r.SBOM != "" {
		purls, err := vuln.ReadSBOM(r.SBOM)
		return vuln.Target{Name: r.SBOM, Kind: "sbom"}, purls, err
	}
	img, err := imageref.Load(ctx, r.Image, r.ImageOptions)
	if err != nil {
		return vuln.Target{}, nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return vuln.Target{}, nil, err
	}
	purls, err := ImagePackages(img, r.Image, r.Cache.SBOMDir())
	if err != nil {
		return vuln.Target{}, nil, fmt.Errorf("%s: %w", r.Image, err)
	}
	return vuln.Target{Name: r.Image, Digest: d.String(), Kind: "image"}, purls, nil
}
