//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/bench/internal/benchkit"
	"github.com/berth-dev/berth/test/fixtures"
)

// The app is examples/goapp built twice with berth build, differing only in
// VERSION (which /version reports, so the load sees which release answers).
var appVersions = [2]string{"1.0.0", "2.0.0"}

// images are the built images: OCI layouts for berth's daemon and, for the
// compose anchor, docker archives `docker load`ed as app:VERSION and
// nginx:bench (the same bytes).
type images struct {
	layouts  map[string]string // version → OCI layout holding tag "app"
	archives map[string]string // docker-archive paths: app versions and "nginx"
	// nginxConf is the nginx example's nginx.conf (the source's copy).
	nginxConf string
}

func (im *images) berthRef(version string) string {
	return "oci-layout:" + im.layouts[version] + ":app"
}

// nginxRef is the nginx example's image (the other throughput backend).
func (im *images) nginxRef() string {
	return "oci-layout:" + im.layouts["nginx"] + ":nginx"
}

// buildImages copies the examples out of the source tree (berth build
// writes berth.lock next to berth.yaml) and builds them from the local apt
// repository.
func buildImages(ctx context.Context, berthBin, root, aptRepo, dir string, docker bool) (*images, error) {
	if !fixtures.AptRepoComplete(aptRepo) {
		return nil, fmt.Errorf("no local apt repository in %s (run scripts/aptrepo.sh %s, or give -aptrepo)", aptRepo, aptRepo)
	}
	src := filepath.Join(dir, "src")
	for _, ex := range []string{"goapp", "nginx"} {
		if err := fixtures.CopyTree(filepath.Join(root, "examples", ex), filepath.Join(src, ex)); err != nil {
			return nil, fmt.Errorf("copy examples/%s: %w", ex, err)
		}
	}
	env := []string{"BERTH_APT_URL=file://" + aptRepo, "BERTH_CACHE=" + filepath.Join(dir, "cache")}
	build := func(file string, args ...string) error {
		cmd := exec.CommandContext(ctx, berthBin, append([]string{"build", "-f", file}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("berth build %s: %v\n%s", strings.Join(args, " "), err, benchkit.Tail(out, 3000))
		}
		return nil
	}
	im := &images{layouts: map[string]string{}, archives: map[string]string{}}
	app := filepath.Join(src, "goapp", "berth.yaml")
	for _, v := range appVersions {
		im.layouts[v] = filepath.Join(dir, "app-"+v)
		if err := build(app, "app", "--set", "VERSION="+v, "--oci-layout", im.layouts[v]); err != nil {
			return nil, err
		}
		if docker {
			im.archives[v] = filepath.Join(dir, "app-"+v+".tar")
			if err := build(app, "app", "--set", "VERSION="+v, "--docker-archive", im.archives[v], "--tag", v); err != nil {
				return nil, err
			}
		}
	}
	im.nginxConf = filepath.Join(src, "nginx", "nginx.conf")
	im.layouts["nginx"] = filepath.Join(dir, "nginx")
	if err := build(filepath.Join(src, "nginx", "berth.yaml"), "nginx", "--oci-layout", im.layouts["nginx"]); err != nil {
		return nil, err
	}
	if docker {
		im.archives["nginx"] = filepath.Join(dir, "nginx.tar")
		if err := build(filepath.Join(src, "nginx", "berth.yaml"), "nginx", "--docker-archive", im.archives["nginx"], "--tag", "bench"); err != nil {
			return nil, err
		}
	}
	return im, nil
}
