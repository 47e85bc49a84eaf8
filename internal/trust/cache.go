package trust

import (
	"path/filepath"

	"github.com/berth-dev/berth/internal/imageref"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/sign"
	"github.com/berth-dev/berth/internal/vuln"
)

// Cache is berth's cache directory ($BERTH_CACHE, $XDG_CACHE_HOME/berth or
// ~/.cache/berth, as build.CacheDir finds it; Err when there is none), where
// the vulnerability database and the image inventories live.
type Cache struct {
	Dir string
	Err error
}

// VulnDB is the vulnerability database: flag (--db) if set, else
// vulndb.db in the cache directory.
func (c Cache) VulnDB(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if c.Err != nil {
		return "", c.Err
	}
	return filepath.Join(c.Dir, vuln.DefaultDBName), nil
}

// SBOMDir is where image inventories are cached: the build writes them
// there when it makes the SBOMs it attaches ("" when there is no cache
// directory: every scan reads the image).
func (c Cache) SBOMDir() string {
	if c.Err != nil {
		return ""
	}
	return SBOMCacheDir(c.Dir)
}

// PolicyScanner is the max_severity check of environments' policy: the
// default vulnerability database (no database, or an empty one, refuses
// every image, saying how to import one) and berth scan's package lister.
func (c Cache) PolicyScanner(insecure bool) Scanner {
	db, _ := c.VulnDB("") // no cache directory: no database, which refuses
	return Scanner{DB: db, SBOMCache: c.SBOMDir(), Image: imageref.Options{Insecure: insecure}}
}

// PolicyPorts are the ports environments' policy: is checked through, for
// deploy, ship and promote: the registry's referrers for evidence,
// internal/sign for signatures, and berth scan's scanner over the default
// vulnerability database (which max_severity needs — none refuses).
func (c Cache) PolicyPorts(insecure bool) policy.Ports {
	return policy.Ports{
		Evidence: RegistryEvidence{Insecure: insecure},
		Verifier: Verifier{Options: sign.Options{Insecure: insecure}},
		Scanner:  c.PolicyScanner(insecure),
	}
}
