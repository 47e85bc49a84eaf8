package main

import (
	"github.com/berth-dev/berth/internal/build"
	"github.com/berth-dev/berth/internal/policy"
	"github.com/berth-dev/berth/internal/trust"
)

// trustCache is berth's cache directory, where the vulnerability database
// and the image inventories live.
func trustCache() trust.Cache {
	dir, err := build.CacheDir()
	return trust.Cache{Dir: dir, Err: err}
}

// policyPorts are the ports environments' policy: is checked through
// (trust.Cache.PolicyPorts), for deploy, ship and promote.
func policyPorts(insecure bool) policy.Ports { return trustCache().PolicyPorts(insecure) }
