package kube

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/stack"
)

// docFields reads the compose fields named in the first column of
// docs/kubernetes.md's mapping table: each `code span`, and, for one
// without a dot after one with (`healthcheck.interval` / `timeout`), also
// the name under the earlier one's parent (healthcheck.timeout).
func docFields(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| compose field | berth on Kubernetes | kompose |")
	if !ok {
		t.Fatal("docs/kubernetes.md: no mapping table")
	}
	span := regexp.MustCompile("`([^`]+)`")
	fields := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cell := strings.Split(line, "|")[1]
		parent := ""
		for _, m := range span.FindAllStringSubmatch(cell, -1) {
			f := m[1]
			fields[f] = true
			if i := strings.LastIndex(f, "."); i >= 0 {
				parent = f[:i+1]
			} else if parent != "" {
				fields[parent+f] = true
			}
		}
	}
	return fields
}

// docName is how the table names a compose-go path: without the
// services.*. prefix, list and map markers ([] and *) left out.
func docName(path string) string {
	path = strings.TrimPrefix(path, "services.*.")
	var parts []string
	for _, p := range strings.Split(path, ".") {
		if p != "[]" && p != "*" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// TestMappingTableCoversEveryField: every compose attribute berth
// accepts (internal/stack's allowlist) has a row in docs/kubernetes.md's
// mapping table — named there as a `code span` —, so the table says what
// becomes of each on a cluster.
func TestMappingTableCoversEveryField(t *testing.T) {
	doc := docFields(t)
	attrs := stack.SupportedAttributes()
	// A field that holds others (deploy, deploy.resources) is covered by
	// theirs.
	parent := map[string]bool{}
	for _, p := range attrs {
		n := docName(p)
		for i := strings.LastIndex(n, "."); i > 0; i = strings.LastIndex(n, ".") {
			n = n[:i]
			parent[n] = true
		}
	}
	seen := map[string]bool{}
	for _, p := range attrs {
		n := docName(p)
		if n == "" || seen[n] || parent[n] && !doc[n] {
			continue
		}
		seen[n] = true
		if n == "services" {
			continue // the table's rows are the services' fields
		}
		if !doc[n] {
			t.Errorf("compose attribute %s (%s): no row of docs/kubernetes.md's mapping table names `%s`", p, n, n)
		}
	}
}
