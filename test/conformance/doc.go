// Package conformance runs the official OCI Distribution Specification
// conformance suite (opencontainers/distribution-spec conformance/, kept
// unmodified in ../shared/tools/oci-conformance next to the repository)
// against `berth registry serve`, with every optional part of the suite on.
// It requires no failure, no error and nothing skipped. Without the suite
// directory it skips, or fails when CI=true. BERTH_OCI_CONFORMANCE_DIR
// points at the suite elsewhere:
//
//	BERTH_OCI_CONFORMANCE_DIR=/work/shared/tools/oci-conformance go test -count=1 -v ./test/conformance/
package conformance
