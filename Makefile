# berth: one binary for immutable container infrastructure.
# `make demo` and `make test` are the two entry points on a fresh machine.

GO       ?= go
BIN      := bin
BERTH    := $(BIN)/berth
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# The e2e suite drives real clients (docker, podman, skopeo, crane, regctl).
TEST_TIMEOUT ?= 30m

.PHONY: all build deps demo test unit e2e conformance fuzz bench vet fmt clean test-k8s k8s-build

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BERTH) ./cmd/berth
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/berth-shim ./cmd/berth-shim

deps:
	bash scripts/deps.sh

# Starts berth's registry, builds the example Go app from Debian packages
# and pushes it, inspects it, then starts the engine and ships the app
# (build, push, deploy 2 replicas behind the proxy) and ships a second
# version under load with zero downtime (scripts/demo.sh).
demo: deps build
	bash scripts/demo.sh

# Everything: vet, unit tests (with the fuzz seed corpora) and the e2e
# suite against real clients.
test: vet
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	BERTH_PROXY_GOROUTINE_PER_CONN=1 $(GO) test -count=1 ./internal/proxy/

# berth against a real single-node Kubernetes (test/k8s, docs/kubernetes.md
# "Test harness"). k8s-build makes the cluster's binaries once per version
# (cached in /var/cache/berth-k8s/VERSION, ~8 min on 2 cores); the tests
# bring the cluster up under /tmp/berth-k8s.lock and down at the end.
K8S_TIMEOUT ?= 20m
test-k8s: k8s-build
	BERTH_K8S=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -count=1 -timeout $(K8S_TIMEOUT) -v ./test/k8s/

k8s-build:
	bash scripts/k8s-cluster.sh build

unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/e2e)

e2e:
	PATH="$(CURDIR)/$(BIN):$$PATH" $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./test/e2e/...

# The official OCI distribution-spec conformance suite (also part of `test`);
# it expects the suite in ../shared/tools/oci-conformance.
conformance:
	$(GO) test -count=1 -v ./test/conformance/

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Short coverage-guided runs of every fuzz target (package:target).
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	internal/registry/httprange:FuzzParseRange \
	internal/registry/httprange:FuzzParseContentRange \
	internal/registry/manifest:FuzzParse \
	internal/registry/manifest:FuzzDecodeObject \
	internal/registry/names:FuzzValidateRepository \
	internal/registry:FuzzYAMLToJSON \
	internal/deb:FuzzCompareVersions \
	internal/deb:FuzzParsePackages \
	internal/deb:FuzzParseRelease \
	internal/deb:FuzzReadDeb \
	internal/vuln:FuzzParseRecord \
	internal/vuln:FuzzParsePurl \
	internal/vuln:FuzzVEXAdd \
	internal/vuln:FuzzParseSBOM \
	internal/engine/runtime:FuzzWalkInRoot \
	internal/signals:FuzzParse \
	internal/sign:FuzzParsePrivateKey \
	internal/sign:FuzzParseBundle \
	internal/keyagent:FuzzHandle \
	internal/spec:FuzzLoad \
	internal/spec:FuzzInterpolate \
	internal/spec:FuzzParseDockerfile \
	internal/build/goflags:FuzzValidateLdflags \
	internal/stack:FuzzLoad \
	internal/stack:FuzzLoadTargets \
	internal/kube:FuzzTranslate \
	internal/kube:FuzzDecodeRevision \
	internal/proxy:FuzzParseRequestHead \
	internal/proxy:FuzzParseResponseHead \
	internal/proxy:FuzzPumpChunked \
	internal/proxy:FuzzScanResponseHead \
	internal/proxy:FuzzParseGRPCTimeout \
	internal/proxy:FuzzParseStoredCertificate \
	internal/proxy:FuzzWSFrames \
	internal/engine/logs:FuzzParseTail \
	internal/stack:FuzzParseTimeout \
	internal/stack:FuzzParseExec \
	internal/engine/logs:FuzzLine \
	internal/sbom:FuzzParseSource \
	internal/sbom:FuzzLicenses \
	internal/sbom:FuzzStatusPackage \
	internal/sign:FuzzStatementOf
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg)"; \
		$(GO) test -run=NONE -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) ./$$pkg/; \
	done

# Benchmarks against the anchors (CNCF distribution for the registry; nginx
# and docker-compose for the proxy and berth deploy), and the console's
# targets with 50 services (first byte, live streams' CPU).
bench: deps build
	bash bench/registry.sh
	bash bench/deploy.sh
	bash bench/console.sh

clean:
	rm -rf $(BIN)
