package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Cluster is the running test cluster, as scripts/k8s-cluster.sh env
// describes it, plus what TestMain built for the tests.
type Cluster struct {
	Kubeconfig   string // admin kubeconfig (cluster-admin)
	Registry     string // host:port of berth's registry the cluster pulls from (plain HTTP)
	NodeIP       string // the node's InternalIP: NodePorts answer there
	NodeName     string
	BinDir       string // kubectl, crictl and the other cluster binaries
	StorageClass string // the default StorageClass: PVCs of up to 10Gi bind at once
	DNSIP        string // the kube-dns Service's ClusterIP
	Domain       string // the cluster domain (cluster.local)

	RepoRoot string // the berth module's root
	Berth    string // the berth binary built for this run
	WorkDir  string // scratch space for the run, removed at the end
}

// cluster is nil when the tests do not run (see need).
var cluster *Cluster

// skipReason says why cluster is nil.
var skipReason string

const lockPath = "/tmp/berth-k8s.lock"

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	reuse := os.Getenv("BERTH_K8S_KUBECONFIG")
	if reuse == "" && os.Getenv("BERTH_K8S") == "" {
		skipReason = "the Kubernetes tests run with `make test-k8s` (BERTH_K8S=1) or BERTH_K8S_KUBECONFIG set to a running test cluster"
		return m.Run()
	}
	root, err := findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	work, err := os.MkdirTemp("", "berth-k8s-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	defer os.RemoveAll(work)
	berth, err := buildBerth(root, work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}

	if reuse != "" {
		c, err := clusterFromEnv(os.Getenv)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s:", err)
			return 2
		}
		c.RepoRoot, c.Berth, c.WorkDir = root, berth, work
		cluster = c
		return m.Run()
	}

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "k8s: the test cluster needs root")
		return 2
	}
	unlock, err := lockHost()
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	defer unlock()

	script := filepath.Join(root, "scripts", "k8s-cluster.sh")
	sh := func(args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		// We hold the host's lock (lockHost): the script must not take it.
		cmd.Env = append(os.Environ(), "BERTH="+berth, "BERTH_K8S_LOCKED=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		err := cmd.Run()
		return out.String(), err
	}
	// We hold the lock: a cluster still up is one an interrupted run
	// (killed by go test's -timeout, say) left behind.
	if _, err := sh("down"); err != nil {
		fmt.Fprintln(os.Stderr, "k8s: cleaning up an earlier cluster:", err)
		return 2
	}
	start := time.Now()
	if _, err := sh("up"); err != nil {
		fmt.Fprintln(os.Stderr, "k8s: scripts/k8s-cluster.sh up:", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "k8s: cluster up in %s\n", time.Since(start).Round(100*time.Millisecond))
	down := func() {
		start := time.Now()
		if _, err := sh("down"); err != nil {
			fmt.Fprintln(os.Stderr, "k8s: scripts/k8s-cluster.sh down:", err)
		}
		fmt.Fprintf(os.Stderr, "k8s: cluster down in %s\n", time.Since(start).Round(100*time.Millisecond))
	}
	defer down()
	// An interrupt (Ctrl-C, CI cancelling) still brings the cluster down.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		down()
		unlock()
		os.Exit(130)
	}()

	env, err := sh("env")
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s: scripts/k8s-cluster.sh env:", err)
		return 2
	}
	vars, err := parseEnv(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	c, err := clusterFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		return 2
	}
	c.RepoRoot, c.Berth, c.WorkDir = root, berth, work
	cluster = c
	return m.Run()
}

// lockHost takes /tmp/berth-k8s.lock (one cluster per host), waiting for
// whoever holds it.
func lockHost() (func(), error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "k8s: waiting for %s (another cluster is up)\n", lockPath)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", lockPath, err)
		}
	}
	return func() { f.Close() }, nil
}

// parseEnv reads scripts/k8s-cluster.sh env's KEY=VALUE lines.
func parseEnv(s string) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("scripts/k8s-cluster.sh env: line %q is not KEY=VALUE", line)
		}
		vars[k] = v
	}
	return vars, sc.Err()
}

// clusterFromEnv reads the cluster's description from the variables
// scripts/k8s-cluster.sh env prints.
func clusterFromEnv(get func(string) string) (*Cluster, error) {
	c := &Cluster{
		Kubeconfig:   get("BERTH_K8S_KUBECONFIG"),
		Registry:     get("BERTH_K8S_REGISTRY"),
		NodeIP:       get("BERTH_K8S_NODE_IP"),
		NodeName:     get("BERTH_K8S_NODE_NAME"),
		BinDir:       get("BERTH_K8S_BIN"),
		StorageClass: get("BERTH_K8S_STORAGE_CLASS"),
		DNSIP:        get("BERTH_K8S_DNS_IP"),
		Domain:       get("BERTH_K8S_DOMAIN"),
	}
	var missing []string
	for k, v := range map[string]string{
		"BERTH_K8S_KUBECONFIG": c.Kubeconfig, "BERTH_K8S_REGISTRY": c.Registry, "BERTH_K8S_NODE_IP": c.NodeIP,
		"BERTH_K8S_BIN": c.BinDir,
	} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("missing %s (eval \"$(scripts/k8s-cluster.sh env)\" sets them)", strings.Join(missing, ", "))
	}
	if c.Domain == "" {
		c.Domain = "cluster.local"
	}
	if _, err := os.Stat(filepath.Join(c.BinDir, "kubectl")); err != nil {
		return nil, fmt.Errorf("BERTH_K8S_BIN=%s: no kubectl there: %w", c.BinDir, err)
	}
	return c, nil
}

// need returns the cluster, or skips the test when the Kubernetes tests
// were not asked for.
func need(t *testing.T) *Cluster {
	t.Helper()
	if cluster == nil {
		t.Skip(skipReason)
	}
	return cluster
}

// findRepoRoot walks up from the package directory to go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

func buildBerth(root, work string) (string, error) {
	bin := filepath.Join(work, "berth")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/berth")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/berth: %v\n%s", err, out)
	}
	return bin, nil
}
