package trust

import (
	"context"
	"errors"
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sbom"
	"github.com/berth-dev/berth/internal/vuln"
)

// SBOMCacheDir is where the image inventories are cached under berth's
// cache directory (sbom.CacheDir: the one the build writes them to).
func SBOMCacheDir(cacheDir string) string { return sbom.CacheDir(cacheDir) }

// ImagePackages lists img's packages as purls, from the SBOM inventory
// (internal/sbom, cached by digest in sbomCache, "" = no cache): the same
// packages, with the same purls, as the SBOM berth attaches to the image.
// It is the one lister of an image's packages `berth scan` and the policy
// gate use.
func ImagePackages(img v1.Image, name, sbomCache string) ([]string, error) {
	inv, err := sbom.ScanCached(img, name, sbomCache)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(inv.Packages))
	for _, p := range inv.Packages {
		if p.PURL != "" {
			out = append(out, p.PURL)
		}
	}
	return out, nil
}

// ErrNoDatabase is the scanner's refusal when there is no vulnerability
// database to scan against (none at the path, or one with no records): a
// max_severity policy fails closed rather than passing an image nothing was
// checked against.
var ErrNoDatabase = errors.New("no vulnerability database")

// Scanner is policy.Scanner over internal/vuln: the image (a manifest
// reference, REPO@sha256:…) is loaded, its packages are listed from the
// SBOM inventory and matched against the local OSV database, and the
// findings the policy's VEX documents do not suppress are returned. The
// database and the VEX are opened once per gate run (Open), not per image.
type Scanner struct {
	// DB is the vulnerability database file (`berth vulndb import`).
	DB string
	// SBOMCache is the inventory cache directory ("" = none).
	SBOMCache string
	// Image says how to reach the registry.
	Image imageref.Options
}

var _ policy.Scanner = Scanner{}

// Open implements policy.Scanner: the VEX documents are read and the
// database opened (a missing or empty one is ErrNoDatabase) for all the
// scans of one gate run.
func (s Scanner) Open(vexPaths []string) (policy.ScanSession, error) {
	var vex *vuln.VEX
	if len(vexPaths) > 0 {
		var err error
		if vex, err = vuln.LoadVEX(vexPaths); err != nil {
			return nil, err
		}
	}
	db, err := OpenDB(s.DB)
	if err != nil {
		return nil, err
	}
	return &scanSession{s: s, db: db, vex: vex}, nil
}

// scanSession is a Scanner's open database and VEX.
type scanSession struct {
	s   Scanner
	db  *vuln.DB
	vex *vuln.VEX
}

// result scans ref and returns vuln's full result (suppressed findings
// marked), with the database it was matched against.
func (ss *scanSession) result(ctx context.Context, ref string) (*vuln.Result, error) {
	img, err := imageref.Load(ctx, ref, ss.s.Image)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	purls, err := ImagePackages(img, ref, ss.s.SBOMCache)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	res, err := vuln.Scan(vuln.Target{Name: ref, Digest: d.String(), Kind: "image"}, purls, ss.db, ss.vex)
	if err != nil {
		return nil, err
	}
	res.Database = ss.db.Path()
	return res, nil
}

// Scan implements policy.ScanSession.
func (ss *scanSession) Scan(ctx context.Context, ref string) ([]policy.Finding, error) {
	res, err := ss.result(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []policy.Finding
	for _, f := range res.Active() {
		out = append(out, policy.Finding{ID: f.ID, Package: f.Package, Version: f.Installed, Fixed: f.Fixed, Severity: policySeverity(f.Severity)})
	}
	return out, nil
}

// Close implements policy.ScanSession: the database is closed.
func (ss *scanSession) Close() error { return ss.db.Close() }

// OpenDB opens the vulnerability database at path for a policy check:
// a missing or empty one is ErrNoDatabase, with how to make one.
func OpenDB(path string) (*vuln.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: run `berth vulndb import PATH` first", ErrNoDatabase)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: run `berth vulndb import PATH` first", ErrNoDatabase, path)
	}
	db, err := vuln.OpenDB(path)
	if err != nil {
		return nil, err
	}
	st, err := db.Stats()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	if st.Records == 0 {
		db.Close()
		return nil, fmt.Errorf("%w: %s holds no records: run `berth vulndb import PATH` first", ErrNoDatabase, path)
	}
	return db, nil
}

// policySeverity maps vuln's severity (its rank: unknown 0, low 1 …
// critical 4, "moderate" as medium) to the policy's, which has the same
// order; anything else is policy.Unknown, which no max_severity refuses.
func policySeverity(s string) policy.Severity {
	r := vuln.SeverityRank(s)
	if r < int(policy.Unknown) || r > int(policy.Critical) {
		return policy.Unknown
	}
	return policy.Severity(r)
}
