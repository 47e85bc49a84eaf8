// Package e2e drives real OCI registry clients (skopeo, crane, regctl,
// docker, podman) against `berth registry serve` on loopback.
//
// The suite needs the tools that scripts/deps.sh installs and, for docker
// and podman, root. Without them tests skip, unless CI or BERTH_E2E_REQUIRE=1
// is set, in which case they fail.
//
// BERTH_E2E_REGISTRY picks the server under test: "berth" (default) or
// "distribution" (CNCF distribution, Debian's docker-registry), useful to
// tell a client quirk from a berth bug.
//
//	go test -count=1 -parallel 4 ./test/e2e/
//	BERTH_E2E_REGISTRY=distribution go test -count=1 -parallel 4 ./test/e2e/
package e2e
