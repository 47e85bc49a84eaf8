package runtime

import (
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Container describes one container to run. Spec turns it into an OCI spec.
type Container struct {
	ID     string
	Rootfs string // absolute path of the prepared root filesystem
	Args   []string
	Env    []string // KEY=VALUE
	Cwd    string   // default "/"
	// User is "uid[:gid]" or "name[:group]"; names are resolved with the
	// image's /etc/passwd and /etc/group. Empty means root.
	User           string
	Hostname       string // default: the first 12 characters of ID
	Terminal       bool
	ReadOnlyRootfs bool
	Mounts         []Mount
	// NetNS is the path of an existing network namespace to join (e.g. one
	// prepared by CNI). Empty creates a private namespace with only loopback.
	NetNS        string
	Resources    Resources
	CapAdd       []string
	CapDrop      []string
	CgroupParent string // default "/berth"
	// AppArmorProfile confines the container's processes when set (see
	// SetupAppArmor); empty where the host has no AppArmor.
	AppArmorProfile string
	// Host files bind-mounted read-only at /etc/resolv.conf, /etc/hosts and
	// /etc/hostname when set.
	ResolvConf, Hosts, HostnameFile string
}

// Mount is a bind mount or a tmpfs in the container.
type Mount struct {
	Source      string // host path for "bind"; ignored for "tmpfs"
	Destination string // absolute path in the container
	Type        string // "bind" or "tmpfs"
	Options     []string
	ReadOnly    bool
}

// Resources are the container's cgroup limits; zero means unlimited.
type Resources struct {
	MemoryBytes int64
	CPUQuota    float64 // in cores, e.g. 0.5
	PidsLimit   int64
}

// DefaultCgroupParent is where containers' cgroups live unless overridden.
const DefaultCgroupParent = "/berth"

// cpuPeriod is the CFS period CPU quotas are expressed against (Docker's).
const cpuPeriod = 100000

var appArmorName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// ValidateID reports whether id is usable as a container id: it becomes a
// runc id, a cgroup directory name and a file name.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("container id %q: must match %s", id, idPattern)
	}
	return nil
}

// CgroupsPath is the cgroup (relative to each hierarchy's root) of a
// container.
func CgroupsPath(parent, id string) string {
	if parent == "" {
		parent = DefaultCgroupParent
	}
	return path.Join("/", parent, id)
}

// Docker's masked and read-only /proc and /sys paths.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// defaultPath is set when the image's environment has no PATH (Docker's).
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Spec builds the OCI runtime spec for c with Docker's hardening defaults:
// private mount/pid/ipc/uts/net namespaces, Docker's 14 capabilities
// adjusted by CapAdd/CapDrop, Docker's seccomp profile matching those
// capabilities, no-new-privileges, masked and read-only /proc paths and a
// device cgroup that only allows the standard devices.
func Spec(ctx context.Context, c Container) (*specs.Spec, error) {
	if err := validate(c); err != nil {
		return nil, err
	}
	user, err := resolveUser(ctx, c.Rootfs, c.User)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID, err)
	}
	caps, err := tweakCapabilities(c.CapAdd, c.CapDrop)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID, err)
	}
	hostname := c.Hostname
	if hostname == "" {
		hostname = c.ID
		if len(hostname) > 12 {
			hostname = hostname[:12]
		}
	}
	cwd := c.Cwd
	if cwd == "" {
		cwd = "/"
	}

	s := &specs.Spec{
		Version:  specs.Version,
		Hostname: hostname,
		Root:     &specs.Root{Path: c.Rootfs, Readonly: c.ReadOnlyRootfs},
		Process: &specs.Process{
			Terminal: c.Terminal,
			User: specs.User{
				UID: user.UID, GID: user.GID, AdditionalGids: user.AdditionalGids,
			},
			Args: append([]string(nil), c.Args...),
			Env:  processEnv(c.Env, hostname, user.Home, c.Terminal),
			Cwd:  cwd,
			// Docker leaves ambient and inheritable empty: a non-root user
			// gets no capabilities after execve, as with a normal login.
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{nofileLimit()},
			NoNewPrivileges: true,
			ApparmorProfile: c.AppArmorProfile,
		},
		Mounts: defaultMounts(),
		Linux: &specs.Linux{
			CgroupsPath:   CgroupsPath(c.CgroupParent, c.ID),
			Namespaces:    namespaces(c.NetNS),
			MaskedPaths:   append([]string(nil), maskedPaths...),
			ReadonlyPaths: append([]string(nil), readonlyPaths...),
			Resources:     resources(c.Resources),
			// Docker's per-netns sysctls: unprivileged users may bind low
			// ports and ping. Both a private netns and a CNI-prepared one
			// belong to the container alone, so this never touches the host.
			Sysctl: map[string]string{
				"net.ipv4.ip_unprivileged_port_start": "0",
				"net.ipv4.ping_group_range":           "0 2147483647",
			},
		},
	}
	for _, m := range c.Mounts {
		s.Mounts = append(s.Mounts, toSpecMount(m))
	}
	for _, f := range []struct{ src, dst string }{
		{c.ResolvConf, "/etc/resolv.conf"}, {c.Hosts, "/etc/hosts"}, {c.HostnameFile, "/etc/hostname"},
	} {
		if f.src != "" {
			s.Mounts = append(s.Mounts, specs.Mount{
				Destination: f.dst, Type: "bind", Source: f.src,
				Options: []string{"rbind", "rprivate", "ro", "nosuid", "nodev", "noexec"},
			})
		}
	}

	sc, err := seccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, fmt.Errorf("container %s: default seccomp profile: %w", c.ID, err)
	}
	s.Linux.Seccomp = sc
	return s, nil
}

func validate(c Container) error {
	if err := ValidateID(c.ID); err != nil {
		return err
	}
	if !filepath.IsAbs(c.Rootfs) {
		return fmt.Errorf("container %s: rootfs %q must be an absolute path", c.ID, c.Rootfs)
	}
	if fi, err := os.Stat(c.Rootfs); err != nil {
		return fmt.Errorf("container %s: rootfs: %w", c.ID, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("container %s: rootfs %q is not a directory", c.ID, c.Rootfs)
	}
	if len(c.Args) == 0 || c.Args[0] == "" {
		return fmt.Errorf("container %s: no command (args is empty)", c.ID)
	}
	if c.Cwd != "" && !path.IsAbs(c.Cwd) {
		return fmt.Errorf("container %s: working directory %q must be absolute", c.ID, c.Cwd)
	}
	for _, e := range c.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("container %s: environment entry %q is not KEY=VALUE", c.ID, e)
		}
	}
	if c.CgroupParent != "" && (!path.IsAbs(c.CgroupParent) || strings.Contains(c.CgroupParent, "..")) {
		return fmt.Errorf("container %s: cgroup parent %q must be an absolute path without '..'", c.ID, c.CgroupParent)
	}
	if c.AppArmorProfile != "" && !appArmorName.MatchString(c.AppArmorProfile) {
		return fmt.Errorf("container %s: AppArmor profile %q: must match %s", c.ID, c.AppArmorProfile, appArmorName)
	}
	if c.NetNS != "" && !filepath.IsAbs(c.NetNS) {
		return fmt.Errorf("container %s: network namespace %q must be an absolute path", c.ID, c.NetNS)
	}
	r := c.Resources
	if r.MemoryBytes < 0 || (r.MemoryBytes > 0 && r.MemoryBytes < 6<<20) {
		return fmt.Errorf("container %s: memory limit %d bytes: must be 0 (unlimited) or at least 6 MiB", c.ID, r.MemoryBytes)
	}
	if r.CPUQuota < 0 || math.IsNaN(r.CPUQuota) || math.IsInf(r.CPUQuota, 0) || (r.CPUQuota > 0 && r.CPUQuota < 0.01) {
		return fmt.Errorf("container %s: cpu limit %v cores: must be 0 (unlimited) or at least 0.01", c.ID, r.CPUQuota)
	}
	if r.PidsLimit < 0 {
		return fmt.Errorf("container %s: pids limit %d must not be negative", c.ID, r.PidsLimit)
	}
	for _, m := range c.Mounts {
		if !path.IsAbs(m.Destination) || path.Clean(m.Destination) != m.Destination || m.Destination == "/" {
			return fmt.Errorf("container %s: mount destination %q must be a clean absolute path other than /", c.ID, m.Destination)
		}
		switch m.Type {
		case "bind":
			if !filepath.IsAbs(m.Source) {
				return fmt.Errorf("container %s: bind mount source %q must be an absolute path", c.ID, m.Source)
			}
			if _, err := os.Stat(m.Source); err != nil {
				return fmt.Errorf("container %s: bind mount source: %w", c.ID, err)
			}
		case "tmpfs":
		default:
			return fmt.Errorf("container %s: mount %s: type %q is not \"bind\" or \"tmpfs\"", c.ID, m.Destination, m.Type)
		}
		for _, o := range m.Options {
			if o == "" || strings.ContainsAny(o, "\x00\n") {
				return fmt.Errorf("container %s: mount %s: bad option %q", c.ID, m.Destination, o)
			}
		}
	}
	for _, f := range []string{c.ResolvConf, c.Hosts, c.HostnameFile} {
		if f != "" && !filepath.IsAbs(f) {
			return fmt.Errorf("container %s: host file %q must be an absolute path", c.ID, f)
		}
	}
	return nil
}

func processEnv(env []string, hostname, home string, terminal bool) []string {
	out := append([]string(nil), env...)
	has := func(key string) bool {
		for _, e := range out {
			if strings.HasPrefix(e, key+"=") {
				return true
			}
		}
		return false
	}
	if !has("PATH") {
		out = append(out, defaultPath)
	}
	if !has("HOSTNAME") {
		out = append(out, "HOSTNAME="+hostname)
	}
	if !has("HOME") {
		out = append(out, "HOME="+home)
	}
	if terminal && !has("TERM") {
		out = append(out, "TERM=xterm")
	}
	return out
}

// nofileLimit raises the open-files limit to 1048576 where allowed: a
// process without CAP_SYS_RESOURCE cannot exceed its own hard limit, and
// neither can the container it starts.
func nofileLimit() specs.POSIXRlimit {
	limit := uint64(1048576)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Max < limit {
		limit = rl.Max
	}
	return specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: limit, Soft: limit}
}

func namespaces(netns string) []specs.LinuxNamespace {
	return []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.MountNamespace},
		// A private cgroup namespace (Docker's default on cgroup v2; runc
		// supports it on v1 as well): /proc/self/cgroup and the mounted
		// /sys/fs/cgroup show the container's own cgroups as "/" and reveal
		// nothing of the host's hierarchy.
		{Type: specs.CgroupNamespace},
		// An empty path makes runc create the namespace and bring up lo.
		{Type: specs.NetworkNamespace, Path: netns},
	}
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
}

func toSpecMount(m Mount) specs.Mount {
	switch m.Type {
	case "tmpfs":
		opts := []string{"nosuid", "nodev"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs", Options: append(opts, m.Options...)}
	default:
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		return specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: append(opts, m.Options...)}
	}
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func boolp(v bool) *bool   { return &v }

// resources builds the cgroup limits, starting with Docker's device rules:
// deny everything, then allow mknod of any device (harmless without access)
// and the standard character devices.
func resources(r Resources) *specs.LinuxResources {
	dev := func(major, minor int64, access string) specs.LinuxDeviceCgroup {
		d := specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: access}
		if major >= 0 {
			d.Major = i64(major)
		}
		if minor >= 0 {
			d.Minor = i64(minor)
		}
		return d
	}
	lr := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			dev(-1, -1, "m"),
			{Allow: true, Type: "b", Access: "m"},
			dev(1, 3, "rwm"),    // null
			dev(1, 8, "rwm"),    // random
			dev(1, 7, "rwm"),    // full
			dev(5, 0, "rwm"),    // tty
			dev(1, 5, "rwm"),    // zero
			dev(1, 9, "rwm"),    // urandom
			dev(136, -1, "rwm"), // pts
			dev(5, 2, "rwm"),    // ptmx
			dev(10, 200, "rwm"), // tun
		},
	}
	if r.MemoryBytes > 0 {
		lr.Memory = &specs.LinuxMemory{Limit: i64(r.MemoryBytes), DisableOOMKiller: boolp(false)}
		// memory+swap = memory: the container cannot swap. Only possible
		// when the kernel accounts swap (runc fails otherwise).
		if swapAccounting() {
			lr.Memory.Swap = i64(r.MemoryBytes)
		}
	}
	if r.CPUQuota > 0 {
		lr.CPU = &specs.LinuxCPU{Quota: i64(int64(math.Round(r.CPUQuota * cpuPeriod))), Period: u64(cpuPeriod)}
	}
	if r.PidsLimit > 0 {
		lr.Pids = &specs.LinuxPids{Limit: r.PidsLimit}
	}
	return lr
}

func swapAccounting() bool {
	if isCgroup2() {
		return true
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}
