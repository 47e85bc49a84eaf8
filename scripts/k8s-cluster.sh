#!/usr/bin/env bash
# k8s-cluster.sh: berth's Kubernetes test harness — a real single-node
# Kubernetes whose pods really run, on this machine, with no internet.
#
#   scripts/k8s-cluster.sh build        # the binaries, once per version (cached)
#   scripts/k8s-cluster.sh up           # start the cluster (needs build)
#   scripts/k8s-cluster.sh env          # KEY=VALUE lines: KUBECONFIG, registry, node IP...
#   scripts/k8s-cluster.sh down         # stop it, leave the host clean
#   scripts/k8s-cluster.sh run -- CMD   # lock, up, CMD with the env, down
#   scripts/k8s-cluster.sh run -- bash  # a shell on a cluster, down when it exits
#
# What runs: etcd (Debian), kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy (iptables) and kubectl built from the
# k8s.io/kubernetes module; containerd from the module proxy on Debian's runc
# and CNI plugins; berth's own registry (`berth registry serve`) holding the
# images the cluster pulls, all built by `berth build`: the pods' sandbox
# (pause, a static Go program) and CoreDNS (built from the module proxy)
# serving cluster DNS at the kube-dns Service 10.96.0.10; a default
# StorageClass with a pool of hostPath PersistentVolumes so PVCs bind.
#
# One cluster per host (ports 6443, 2379, 10250, iptables KUBE-* chains):
# callers hold `flock /tmp/berth-k8s.lock` from up to down and say so with
# BERTH_K8S_LOCKED=1 (`run` does, and so does test/k8s's TestMain); up and
# down called without it take the lock for themselves or refuse when someone
# holds it. A throwaway cluster for tests only: static tokens, open registry.
#
# Environment:
#   BERTH_K8S_VERSION  Kubernetes version (default v1.36.3)
#   BERTH_K8S_CACHE    the binaries (default /var/cache/berth-k8s/VERSION; bin/ holds them)
#   BERTH_K8S_RUN      the running cluster's state (default /var/tmp/berth-k8s)
#   BERTH_K8S_REGISTRY_ADDR  berth's registry (default 127.0.0.1:5055)
#   BERTH              the berth binary (default: go build ./cmd/berth into the run dir)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$repo/scripts/k8s"

version="${BERTH_K8S_VERSION:-v1.36.3}"
containerd_version="v2.2.10"
crictl_version="v1.37.0"
coredns_version="v1.15.0"

W="${BERTH_K8S_CACHE:-/var/cache/berth-k8s/$version}"
B="$W/bin"
D="${BERTH_K8S_RUN:-/var/tmp/berth-k8s}"
# up and down remove the run directory: it must be a directory of its own.
while [ "${D%/}" != "$D" ]; do D="${D%/}"; done
case "$D/" in
*/../* | */./* | *//*) D= ;;
esac
case "$D" in
/?*/?*) ;;
*)
	printf 'k8s-cluster: BERTH_K8S_RUN=%s: want an absolute path below a top-level directory\n' "${BERTH_K8S_RUN:-}" >&2
	exit 2
	;;
esac
L="$D/logs"
P="$D/pki"
REG="${BERTH_K8S_REGISTRY_ADDR:-127.0.0.1:5055}"
LOCK=/tmp/berth-k8s.lock

POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/12
DNS_IP=10.96.0.10
DOMAIN=cluster.local
BRIDGE=berthk8s0
STORAGE_CLASS=berth-local
PV_COUNT=16

k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
containerd_cmds=(containerd containerd-shim-runc-v2 ctr)
apt_packages=(etcd-server runc containernetworking-plugins iptables conntrack openssl curl)

log() { printf 'k8s-cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

host_ip() {
	ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit }}'
}
NODE="$(hostname | tr 'A-Z' 'a-z')"

# waitfor SECONDS CMD...: poll CMD every 0.5 s until it succeeds; fail at
# once when a daemon started by bg has exited (its log's end is shown).
waitfor() {
	local secs="$1"
	shift
	local deadline=$((SECONDS + secs)) f p
	until "$@" >/dev/null 2>&1; do
		for f in "$L"/*.pid; do
			[ -f "$f" ] || continue
			p="$(cat "$f")"
			if ! kill -0 "$p" 2>/dev/null; then
				log "$(basename "$f" .pid) (pid $p) exited; the end of its log:"
				tail -n 20 "${f%.pid}.log" >&2
				return 1
			fi
		done
		if ((SECONDS >= deadline)); then
			log "timed out after ${secs}s waiting for: $*"
			return 1
		fi
		sleep 0.5
	done
}

# ---------------------------------------------------------------- build

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

apt_deps() {
	local missing=() p
	for p in "${apt_packages[@]}"; do installed "$p" || missing+=("$p"); done
	[ "${#missing[@]}" -eq 0 ] && return
	log "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# gobuild OUT ARGS...: go build into a temporary file, renamed when whole,
# so an interrupted build never leaves a binary that looks cached.
gobuild() {
	local out="$1"
	shift
	local s=$SECONDS
	go build -o "$out.tmp" "$@"
	mv -f "$out.tmp" "$out"
	log "built $(basename "$out") in $((SECONDS - s))s"
}

# tools_module DIR MODULE REQUIRE PKG...: a throwaway module in DIR whose
# tools.go imports PKG..., tidied so `go build PKG` resolves every dependency
# through the module proxy.
tools_module() {
	local dir="$1" module="$2" require="$3"
	shift 3
	mkdir -p "$dir"
	printf 'module %s\n\ngo 1.26.0\n\nrequire %s\n' "$module" "$require" >"$dir/go.mod"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		printf '\t_ "%s"\n' "$@"
		printf ')\n'
	} >"$dir/tools.go"
	(cd "$dir" && go mod tidy)
}

build() {
	apt_deps
	mkdir -p "$B"
	# Two builds into one cache would each see the other's binaries missing.
	exec 8>"$W.build.lock"
	flock 8
	export GOCACHE="$W/gocache" GOFLAGS=-buildvcs=false
	local c missing=()

	for c in "${k8s_cmds[@]}"; do [ -x "$B/$c" ] || missing+=("$c"); done
	if [ "${#missing[@]}" -gt 0 ]; then
		mkdir -p "$W/src"
		cp "$here/kubernetes.go.mod" "$W/src/go.mod"
		local pkgs=() ld="" p
		for c in "${k8s_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
		{
			printf '//go:build tools\n\npackage tools\n\nimport (\n'
			printf '\t_ "%s"\n' "${pkgs[@]}"
			printf ')\n'
		} >"$W/src/tools.go"
		(cd "$W/src" && go mod tidy)
		# Without these the components report v0.0.0-master.
		local minor="${version#v1.}"
		minor="${minor%%.*}"
		for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			ld="$ld -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
		done
		for c in "${missing[@]}"; do
			(cd "$W/src" && gobuild "$B/$c" -ldflags "$ld" "k8s.io/kubernetes/cmd/$c")
		done
	fi

	missing=()
	for c in "${containerd_cmds[@]}"; do [ -x "$B/$c" ] || missing+=("$c"); done
	if [ "${#missing[@]}" -gt 0 ]; then
		local pkgs=()
		for c in "${containerd_cmds[@]}"; do pkgs+=("github.com/containerd/containerd/v2/cmd/$c"); done
		tools_module "$W/ctrd" example.com/ctrdbuild "github.com/containerd/containerd/v2 $containerd_version" "${pkgs[@]}"
		for c in "${missing[@]}"; do
			(cd "$W/ctrd" && CGO_ENABLED=0 gobuild "$B/$c" -tags "no_btrfs no_devmapper no_zfs" "github.com/containerd/containerd/v2/cmd/$c")
		done
	fi

	if [ ! -x "$B/crictl" ]; then
		local s=$SECONDS
		GOBIN="$B" go install "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version"
		log "built crictl in $((SECONDS - s))s"
	fi

	if [ ! -x "$B/coredns" ]; then
		tools_module "$W/coredns" example.com/corednsbuild "github.com/coredns/coredns $coredns_version" github.com/coredns/coredns
		(cd "$W/coredns" && CGO_ENABLED=0 gobuild "$B/coredns" -ldflags "-s -w" github.com/coredns/coredns)
	fi
	log "binaries in $B: $(ls "$B" | tr '\n' ' ')"
}

# ---------------------------------------------------------------- the lock

# hold_lock: up and down change what the whole host shares. A caller that
# holds /tmp/berth-k8s.lock says so with BERTH_K8S_LOCKED=1 (run and
# test/k8s's TestMain do); anyone else gets the lock for this command or is
# refused at once — never a second cluster, never someone else's torn down.
hold_lock() {
	[ -n "${BERTH_K8S_LOCKED:-}" ] && return 0
	exec 9>"$LOCK"
	if flock -n 9; then
		BERTH_K8S_LOCKED=1 # down after a failed up: already ours
	else
		local holder
		holder="$(lslocks -n -o PID,PATH 2>/dev/null | awk -v l="$LOCK" '$2 == l {print $1; exit}')"
		die "$LOCK is held${holder:+ by pid $holder ($(tr '\0' ' ' </proc/$holder/cmdline 2>/dev/null | cut -c1-120))}: another user of the test cluster; wait for it, or run under the lock (scripts/k8s-cluster.sh run -- CMD)"
	fi
}

# ---------------------------------------------------------------- up

# bg NAME CMD...: start a daemon in its own session (a Ctrl-C meant for the
# caller does not reach it: down stops it), its output in logs/NAME.log,
# its pid in logs/NAME.pid. It does not inherit the lock's descriptor (run's
# fd 9): neither it nor the containers it starts may hold the host's lock.
bg() {
	local n="$1"
	shift
	setsid "$@" </dev/null >"$L/$n.log" 2>&1 8>&- 9>&- &
	echo $! >"$L/$n.pid"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

berth_bin() {
	if [ -n "${BERTH:-}" ]; then
		[ -x "$BERTH" ] || die "BERTH=$BERTH is not an executable"
		echo "$BERTH"
		return
	fi
	mkdir -p "$D/bin"
	(cd "$repo" && go build -o "$D/bin/berth" ./cmd/berth)
	echo "$D/bin/berth"
}

# images: berth builds the cluster's own images and pushes them to its registry.
images() {
	local berth="$1" ctx="$D/images"
	mkdir -p "$ctx/pause"
	cp "$here/images/berth.yaml" "$ctx/berth.yaml"
	cp "$here/images/pause/main.go" "$ctx/pause/main.go"
	printf 'module berth.test/k8simages\n\ngo 1.22\n' >"$ctx/go.mod"
	cp "$B/coredns" "$ctx/coredns"
	# The build cache outlives the cluster: an unchanged layer is not rebuilt.
	BERTH_CACHE="$W/berth-cache" "$berth" build -q -f "$ctx/berth.yaml" pause --push "$REG/berth-k8s/pause:1" >/dev/null
	BERTH_CACHE="$W/berth-cache" "$berth" build -q -f "$ctx/berth.yaml" coredns --push "$REG/berth-k8s/coredns:$coredns_version" >/dev/null
}

pki() {
	local ip="$1"
	mkdir -p "$P"
	(
		cd "$P"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj /CN=berth-k8s-test-ca 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj /CN=kube-apiserver 2>/dev/null
		echo "subjectAltName=DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$DOMAIN,DNS:localhost,IP:127.0.0.1,IP:10.96.0.1,IP:$ip" >san.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out apiserver.crt -days 30 -extfile san.ext 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout kc.key -out kc.csr -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" 2>/dev/null
		openssl x509 -req -in kc.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out kc.crt -days 30 2>/dev/null
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		printf '%s\n' "admintoken,admin,admin,system:masters" "kcmtoken,system:kube-controller-manager,kcm" \
			"schedtoken,system:kube-scheduler,sched" "kubelettoken,system:node:$NODE,kubelet,system:nodes" \
			"proxytoken,system:kube-proxy,proxy" >tokens.csv
	)
	local u
	for u in admin kcm sched kubelet proxy; do
		cat >"$D/$u.kubeconfig" <<K
apiVersion: v1
kind: Config
current-context: berth-k8s
clusters: [{name: berth-k8s, cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$P/ca.crt"}}]
users: [{name: $u, user: {token: ${u}token}}]
contexts: [{name: berth-k8s, context: {cluster: berth-k8s, user: $u}}]
K
	done
}

configs() {
	local ip="$1"
	mkdir -p "$D/containerd" "$D/cni" "$D/certs.d/$REG"
	cat >"$D/containerd/config.toml" <<C
version = 3
root = "$D/containerd/root"
state = "$D/containerd/state"
[grpc]
  address = "$D/containerd/containerd.sock"
[ttrpc]
  address = "$D/containerd/containerd.sock.ttrpc"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  pinned_images = {sandbox = "$REG/berth-k8s/pause:1"}
  registry = {config_path = "$D/certs.d"}
[plugins.'io.containerd.cri.v1.runtime']
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE runc cannot set oom_score_adj=-998 for sandboxes.
  restrict_oom_score_adj = true
  cni = {bin_dirs = ["/usr/lib/cni"], conf_dir = "$D/cni"}
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    options = {BinaryName = "/usr/sbin/runc", Root = "$D/runc", SystemdCgroup = false}
C
	printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$REG" "$REG" >"$D/certs.d/$REG/hosts.toml"
	cat >"$D/cni/10-berth-k8s.conflist" <<N
{"cniVersion": "1.0.0", "name": "berth-k8s", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$D/cni-ipam", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
N
	# A kubelet config file starting with "{" would be parsed as JSON: block YAML.
	cat >"$D/kubelet.yaml" <<K
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: "unix://$D/containerd/containerd.sock"
podLogsDir: "$D/pod-logs"
podCIDR: $POD_CIDR
address: $ip
healthzBindAddress: 127.0.0.1
clusterDNS: [$DNS_IP]
clusterDomain: $DOMAIN
resolvConf: /etc/resolv.conf
authorization: {mode: Webhook}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$P/ca.crt"}
K
	cat >"$D/kube-proxy.yaml" <<K
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: "$D/proxy.kubeconfig"}
hostnameOverride: $NODE
clusterCIDR: $POD_CIDR
bindAddress: 127.0.0.1
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack: {maxPerCore: 0}
K
}

# storage: a default StorageClass and a pool of hostPath PersistentVolumes
# (world-writable directories, so non-root pods can write) that PVCs of up
# to 10Gi bind to at once. Retain: a released volume is not reused.
storage() {
	local i name
	{
		cat <<S
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
S
		for i in $(seq -w 1 "$PV_COUNT"); do
			name="berth-pv-$i"
			mkdir -p "$D/pv/$name"
			chmod 0777 "$D/pv/$name"
			cat <<V
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: $name, labels: {berth.dev/test-pool: "true"}}
spec:
  storageClassName: $STORAGE_CLASS
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce, ReadWriteMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: "$D/pv/$name", type: Directory}
V
		done
	} >"$D/storage.yaml"
	kubectl apply -f "$D/storage.yaml" >/dev/null
}

dns() {
	sed -e "s|@COREDNS_IMAGE@|$REG/berth-k8s/coredns:$coredns_version|" -e "s|@DNS_IP@|$DNS_IP|" -e "s|@DOMAIN@|$DOMAIN|" \
		"$here/coredns.yaml" >"$D/coredns.yaml"
	kubectl apply -f "$D/coredns.yaml" >/dev/null
}

up_failed() {
	log "up failed; the last lines of the logs in $L:"
	tail -n 15 "$L"/*.log >&2 || true
	down >&2
}

up() {
	local c
	for c in "${k8s_cmds[@]}" "${containerd_cmds[@]}" crictl coredns; do
		[ -x "$B/$c" ] || die "$B/$c is missing: run scripts/k8s-cluster.sh build first"
	done
	for c in etcd /usr/sbin/runc /usr/lib/cni/bridge openssl conntrack; do
		command -v "$c" >/dev/null || die "$c is missing: run scripts/k8s-cluster.sh build (it installs the Debian packages)"
	done
	[ "$(id -u)" -eq 0 ] || die "up needs root"
	hold_lock
	[ -e "$D/up" ] && die "a cluster is already up in $D (scripts/k8s-cluster.sh down first)"
	local ip p
	ip="$(host_ip)"
	[ -n "$ip" ] || die "cannot tell this host's IP (ip route get 1.1.1.1)"
	for p in 127.0.0.1:6443 127.0.0.1:2379 127.0.0.1:2380 "$ip:10250" 127.0.0.1:10256 "$REG"; do
		port_open "${p%:*}" "${p##*:}" && die "$p is in use: another cluster (or the shared one) is running"
	done
	export PATH="$B:$PATH" KUBECONFIG="$D/admin.kubeconfig"

	local start=$SECONDS
	grep -q " $D" /proc/mounts && die "mounts remain under $D from an earlier cluster: scripts/k8s-cluster.sh down"
	rm -rf "$D"
	mkdir -p "$D" "$L" "$D/kubelet"
	echo "$ip" >"$D/node-ip"
	# What down may remove: the fixed host paths the kubelet and containerd
	# create, only when this cluster created them.
	: >"$D/created"
	for c in /var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/containerd /etc/cni; do
		[ -e "$c" ] || echo "$c" >>"$D/created"
	done
	echo "$(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo 0) $(sysctl -n net.ipv4.ip_forward)" >"$D/sysctl.orig"
	modprobe br_netfilter 2>/dev/null || true
	sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
	touch "$D/up"
	# Any failure from here on (set -e) brings down what was started.
	trap 'up_failed' EXIT

	local berth
	berth="$(berth_bin)"
	bg registry "$berth" registry serve --addr "$REG" --root "$D/registry"
	waitfor 20 curl -fsS "http://$REG/v2/"
	local s=$SECONDS
	images "$berth"
	log "images built by berth and pushed to $REG in $((SECONDS - s))s"

	pki "$ip"
	configs "$ip"
	s=$SECONDS
	bg etcd etcd --name berth-k8s --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:2379 \
		--advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster berth-k8s=http://127.0.0.1:2380
	waitfor 30 curl -fsS http://127.0.0.1:2379/health
	bg apiserver kube-apiserver --etcd-servers=http://127.0.0.1:2379 --bind-address=0.0.0.0 --advertise-address="$ip" \
		--secure-port=6443 --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
		--client-ca-file="$P/ca.crt" --token-auth-file="$P/tokens.csv" \
		--service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
		--service-account-issuer=https://kubernetes.default.svc --authorization-mode=Node,RBAC \
		--enable-admission-plugins=NodeRestriction --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
		--kubelet-client-certificate="$P/kc.crt" --kubelet-client-key="$P/kc.key" \
		--kubelet-preferred-address-types=InternalIP,Hostname
	bg containerd containerd --config "$D/containerd/config.toml"
	waitfor 90 kubectl get --raw /readyz
	bg kcm kube-controller-manager --kubeconfig="$D/kcm.kubeconfig" --authentication-kubeconfig="$D/kcm.kubeconfig" \
		--authorization-kubeconfig="$D/kcm.kubeconfig" --service-account-private-key-file="$P/sa.key" \
		--root-ca-file="$P/ca.crt" --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
		--use-service-account-credentials=true --leader-elect=false --bind-address=127.0.0.1
	bg scheduler kube-scheduler --kubeconfig="$D/sched.kubeconfig" --authentication-kubeconfig="$D/sched.kubeconfig" \
		--authorization-kubeconfig="$D/sched.kubeconfig" --leader-elect=false --bind-address=127.0.0.1
	waitfor 30 crictl --runtime-endpoint "unix://$D/containerd/containerd.sock" info
	bg kubelet kubelet --config="$D/kubelet.yaml" --kubeconfig="$D/kubelet.kubeconfig" --root-dir="$D/kubelet" \
		--cert-dir="$D/kubelet/pki" --node-ip="$ip" --hostname-override="$NODE"
	bg kube-proxy kube-proxy --config="$D/kube-proxy.yaml"
	waitfor 120 kubectl wait --for=condition=Ready "node/$NODE" --timeout=2s
	log "node Ready in $((SECONDS - s))s"

	s=$SECONDS
	storage
	dns
	waitfor 60 kubectl get sa default
	kubectl -n kube-system rollout status deploy/coredns --timeout=120s >/dev/null
	log "cluster DNS and storage ready in $((SECONDS - s))s"
	trap - EXIT
	log "CLUSTER UP in $((SECONDS - start))s (node $NODE, $ip); scripts/k8s-cluster.sh env"
}

# ---------------------------------------------------------------- env

env_() {
	[ -e "$D/up" ] || die "no cluster is up in $D"
	cat <<E
KUBECONFIG=$D/admin.kubeconfig
BERTH_K8S_KUBECONFIG=$D/admin.kubeconfig
BERTH_K8S_REGISTRY=$REG
BERTH_K8S_NODE_IP=$(cat "$D/node-ip")
BERTH_K8S_NODE_NAME=$NODE
BERTH_K8S_BIN=$B
BERTH_K8S_RUN=$D
BERTH_K8S_STORAGE_CLASS=$STORAGE_CLASS
BERTH_K8S_DNS_IP=$DNS_IP
BERTH_K8S_DOMAIN=$DOMAIN
E
}

# ---------------------------------------------------------------- down

# stop NAME...: SIGTERM to the daemons at once, SIGKILL to those still
# running after 5 s (the cluster's state is thrown away: nothing to flush).
stop() {
	local n f pids=() p
	for n in "$@"; do
		f="$L/$n.pid"
		[ -f "$f" ] || continue
		p="$(cat "$f")"
		kill "$p" 2>/dev/null && pids+=("$p")
		rm -f "$f"
	done
	[ "${#pids[@]}" -eq 0 ] && return 0
	for _ in $(seq 50); do
		kill -0 "${pids[@]}" 2>/dev/null || return 0
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null && log "pid $p ($(cat /proc/$p/comm 2>/dev/null)) ignored SIGTERM for 5s: SIGKILL"
		kill -9 "$p" 2>/dev/null
	done
	return 0
}

# lap NAME: down's timing, NAME and the time since the previous lap.
lap() {
	local now=${EPOCHREALTIME/./}
	laps="${laps:+$laps, }$1 $(((now - lap_t) / 1000))ms"
	lap_t=$now
}

down() {
	set +e
	trap - EXIT
	export PATH="$B:$PATH"
	[ -d "$D" ] || { log "nothing to bring down in $D"; return 0; }
	hold_lock || return 1
	local s=$SECONDS laps="" lap_t=${EPOCHREALTIME/./}
	stop kubelet
	lap kubelet
	if [ -S "$D/containerd/containerd.sock" ]; then
		crictl --runtime-endpoint "unix://$D/containerd/containerd.sock" --timeout 10s rmp -fa >/dev/null 2>&1
	fi
	# Whatever still runs in the pods' cgroups (a pod crictl could not
	# remove) is this cluster's: stop it so its mounts can go.
	local pids
	pids="$(find /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null || true)"
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	lap pods
	stop kube-proxy
	[ -x "$B/kube-proxy" ] && kube-proxy --cleanup >/dev/null 2>&1
	lap kube-proxy
	# The kubelet's KUBE-FIREWALL/KUBE-KUBELET-CANARY chains survive
	# kube-proxy --cleanup: remove every jump to a KUBE-* chain, then the chains.
	local ipt tb ch
	for ipt in iptables ip6tables; do
		for tb in filter nat mangle; do
			$ipt -t $tb -S 2>/dev/null | grep -E '^-A [A-Z]+ .*-j KUBE-' | sed 's/^-A /-D /' |
				while read -r rule; do eval "$ipt -t $tb $rule"; done
			for ch in $($ipt -t $tb -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do $ipt -t $tb -F "$ch"; done
			for ch in $($ipt -t $tb -S 2>/dev/null | awk '/^-N KUBE-/ {print $2}'); do $ipt -t $tb -X "$ch"; done
		done
	done
	# The bridge plugin's masquerade rules and chains (CNI-*) of pods whose
	# CNI DEL did not run; only this cluster's network (berth-k8s).
	for ch in $(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F '\"berth-k8s\"' | grep -o -- '-j CNI-[0-9a-f]*' | cut -c4-); do
		iptables -t nat -S POSTROUTING | grep -F -- "-j $ch" | sed 's/^-A /-D /' | while read -r rule; do eval "iptables -t nat $rule"; done
		iptables -t nat -F "$ch"
		iptables -t nat -X "$ch"
	done
	lap iptables
	stop containerd kcm scheduler apiserver etcd registry
	# A shim outlives containerd by design; one whose pod crictl could not
	# remove would stay: this cluster's shims name its containerd socket.
	local shims
	shims="$(pgrep -f -- "containerd-shim-runc-v2 .*-address $D/containerd/containerd.sock" || true)"
	[ -n "$shims" ] && kill -9 $shims 2>/dev/null
	lap daemons
	grep -o " $D[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l
	ip link del "$BRIDGE" 2>/dev/null
	local cg
	for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [ -f "$D/sysctl.orig" ]; then
		local a b
		read -r a b <"$D/sysctl.orig"
		sysctl -qw net.bridge.bridge-nf-call-iptables="$a" net.ipv4.ip_forward="$b"
	fi
	[ -f "$D/created" ] && xargs -r rm -rf <"$D/created"
	if grep -q " $D" /proc/mounts; then
		log "mounts under $D remain; not removing it"
	else
		rm -rf "$D"
	fi
	lap cleanup
	log "DOWN in $((SECONDS - s))s ($laps)"
}

# ---------------------------------------------------------------- run

run() {
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || die "usage: scripts/k8s-cluster.sh run -- CMD..."
	exec 9>"$LOCK"
	flock 9
	export BERTH_K8S_LOCKED=1
	up
	trap down EXIT
	set -a
	# shellcheck disable=SC1090
	. <(env_)
	set +a
	"$@"
}

case "${1:-}" in
build) build ;;
up) up ;;
down) down ;;
env) env_ ;;
run)
	shift
	run "$@"
	;;
*)
	sed -n '2,10p' "$0" >&2
	exit 2
	;;
esac
