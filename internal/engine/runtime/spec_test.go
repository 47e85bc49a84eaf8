package runtime

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSpecDockerDefaults(t *testing.T) {
	rootfs := busyboxRootfs(t)
	s, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	caps := s.Process.Capabilities
	if !slices.Equal(caps.Bounding, defaultCapabilities) || !slices.Equal(caps.Effective, defaultCapabilities) ||
		!slices.Equal(caps.Permitted, defaultCapabilities) || len(caps.Ambient) != 0 || len(caps.Inheritable) != 0 {
		t.Errorf("capabilities = %+v, want Docker's defaults in bounding/effective/permitted only", caps)
	}
	if !s.Process.NoNewPrivileges {
		t.Error("no-new-privileges not set")
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Error("Docker's default seccomp profile missing")
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Error("masked/readonly paths missing")
	}
	if s.Linux.CgroupsPath != "/berth/c1" || s.Hostname != "c1" || s.Process.Cwd != "/" {
		t.Errorf("cgroups path %q hostname %q cwd %q", s.Linux.CgroupsPath, s.Hostname, s.Process.Cwd)
	}
	var nss []specs.LinuxNamespaceType
	for _, ns := range s.Linux.Namespaces {
		nss = append(nss, ns.Type)
		if ns.Path != "" {
			t.Errorf("namespace %s joins %q, want a new one", ns.Type, ns.Path)
		}
	}
	for _, want := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.NetworkNamespace, specs.CgroupNamespace} {
		if !slices.Contains(nss, want) {
			t.Errorf("namespace %s missing", want)
		}
	}
	if !slices.Contains(s.Process.Env, defaultPath) || !slices.Contains(s.Process.Env, "HOME=/root") {
		t.Errorf("env = %q, want default PATH and HOME", s.Process.Env)
	}
	if r := s.Process.Rlimits; len(r) != 1 || r[0].Type != "RLIMIT_NOFILE" || r[0].Hard == 0 || r[0].Hard > 1048576 {
		t.Errorf("rlimits = %+v", r)
	}
}

func TestSpecSeccompFollowsCapabilities(t *testing.T) {
	rootfs := busyboxRootfs(t)
	hasSyscall := func(s *specs.Spec, name string) bool {
		for _, sc := range s.Linux.Seccomp.Syscalls {
			if sc.Action == specs.ActAllow && slices.Contains(sc.Names, name) {
				return true
			}
		}
		return false
	}
	plain, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}, CapAdd: []string{"sys_admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if hasSyscall(plain, "mount") || !hasSyscall(admin, "mount") {
		t.Errorf("mount allowed: default %v, with SYS_ADMIN %v; want false, true", hasSyscall(plain, "mount"), hasSyscall(admin, "mount"))
	}
	if !slices.Contains(admin.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Error("cap_add sys_admin not applied")
	}
}

func TestTweakCapabilities(t *testing.T) {
	got, err := tweakCapabilities([]string{"NET_ADMIN"}, []string{"cap_chown", "MKNOD"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, "CAP_CHOWN") || slices.Contains(got, "CAP_MKNOD") || !slices.Contains(got, "CAP_NET_ADMIN") || len(got) != 13 {
		t.Errorf("add NET_ADMIN drop CHOWN,MKNOD = %v", got)
	}
	got, _ = tweakCapabilities([]string{"NET_BIND_SERVICE"}, []string{"ALL"})
	if !slices.Equal(got, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("drop ALL add NET_BIND_SERVICE = %v", got)
	}
	got, _ = tweakCapabilities([]string{"ALL"}, []string{"SYS_ADMIN"})
	if slices.Contains(got, "CAP_SYS_ADMIN") || !slices.Contains(got, "CAP_NET_ADMIN") {
		t.Errorf("add ALL drop SYS_ADMIN = %v", got)
	}
	if _, err := tweakCapabilities([]string{"CAP_FLY"}, nil); err == nil || !strings.Contains(err.Error(), "CAP_FLY") {
		t.Errorf("unknown capability: err = %v", err)
	}
}

func TestSpecUserResolution(t *testing.T) {
	rootfs := busyboxRootfs(t)
	cases := []struct {
		user     string
		uid, gid uint32
		extra    []uint32
		home     string
	}{
		{"", 0, 0, []uint32{29}, "/root"},
		{"app", 1000, 1000, []uint32{50, 29}, "/home/app"},
		{"app:staff", 1000, 50, []uint32{29}, "/home/app"},
		{"1000:7", 1000, 7, []uint32{50, 29}, "/home/app"},
		{"4242", 4242, 0, nil, "/"},
	}
	for _, c := range cases {
		s, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"id"}, User: c.user})
		if err != nil {
			t.Fatalf("user %q: %v", c.user, err)
		}
		u := s.Process.User
		if u.UID != c.uid || u.GID != c.gid || !slices.Equal(u.AdditionalGids, c.extra) || !slices.Contains(s.Process.Env, "HOME="+c.home) {
			t.Errorf("user %q = %+v env %q, want uid %d gid %d groups %v home %s", c.user, u, s.Process.Env, c.uid, c.gid, c.extra, c.home)
		}
	}
	for _, bad := range []string{"nobody", "app:nogroup", "app:"} {
		if _, err := Spec(t.Context(), Container{ID: "c1", Rootfs: rootfs, Args: []string{"id"}, User: bad}); err == nil {
			t.Errorf("user %q accepted", bad)
		}
	}
}

func TestSpecRejectsBadInput(t *testing.T) {
	rootfs := busyboxRootfs(t)
	ok := Container{ID: "c1", Rootfs: rootfs, Args: []string{"sh"}}
	cases := map[string]func(c *Container){
		"container id":      func(c *Container) { c.ID = "../evil" },
		"rootfs":            func(c *Container) { c.Rootfs = "relative" },
		"no command":        func(c *Container) { c.Args = nil },
		"working directory": func(c *Container) { c.Cwd = "tmp" },
		"environment entry": func(c *Container) { c.Env = []string{"NOEQUALS"} },
		"memory limit":      func(c *Container) { c.Resources.MemoryBytes = 1024 },
		"cpu limit":         func(c *Container) { c.Resources.CPUQuota = -1 },
		"mount destination": func(c *Container) { c.Mounts = []Mount{{Type: "tmpfs", Destination: "/a/../b"}} },
		"type \"nfs\"":      func(c *Container) { c.Mounts = []Mount{{Type: "nfs", Destination: "/data"}} },
		"bind mount source": func(c *Container) {
			c.Mounts = []Mount{{Type: "bind", Source: "/does/not/exist", Destination: "/data"}}
		},
		"cgroup parent":      func(c *Container) { c.CgroupParent = "/a/../../b" },
		"unknown capability": func(c *Container) { c.CapDrop = []string{"NOPE"} },
	}
	for want, mutate := range cases {
		c := ok
		mutate(&c)
		_, err := Spec(t.Context(), c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", want, err, want)
		}
	}
}

func TestSpecResourcesAndMounts(t *testing.T) {
	rootfs := busyboxRootfs(t)
	s, err := Spec(t.Context(), Container{
		ID: "c1", Rootfs: rootfs, Args: []string{"sh"}, ReadOnlyRootfs: true, NetNS: "/run/netns/x",
		Resources: Resources{MemoryBytes: 64 << 20, CPUQuota: 1.5, PidsLimit: 100},
		Mounts: []Mount{
			{Type: "bind", Source: rootfs, Destination: "/data", ReadOnly: true},
			{Type: "tmpfs", Destination: "/run/secrets", Options: []string{"mode=0700"}},
		},
		ResolvConf: "/etc/resolv.conf",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	if *r.Memory.Limit != 64<<20 || *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || r.Pids.Limit != 100 {
		t.Errorf("resources = mem %d quota %d period %d pids %d", *r.Memory.Limit, *r.CPU.Quota, *r.CPU.Period, r.Pids.Limit)
	}
	if swapAccounting() && (r.Memory.Swap == nil || *r.Memory.Swap != 64<<20) {
		t.Error("memory+swap not capped at the memory limit")
	}
	if !s.Root.Readonly {
		t.Error("read-only rootfs not set")
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace && ns.Path != "/run/netns/x" {
			t.Errorf("netns path = %q", ns.Path)
		}
	}
	find := func(dst string) *specs.Mount {
		for i := range s.Mounts {
			if s.Mounts[i].Destination == dst {
				return &s.Mounts[i]
			}
		}
		return nil
	}
	if m := find("/data"); m == nil || m.Type != "bind" || !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "rbind") {
		t.Errorf("bind mount = %+v", m)
	}
	if m := find("/run/secrets"); m == nil || m.Type != "tmpfs" || !slices.Contains(m.Options, "mode=0700") {
		t.Errorf("tmpfs mount = %+v", m)
	}
	if m := find("/etc/resolv.conf"); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf("resolv.conf mount = %+v", m)
	}
	if m := find("/dev/shm"); m == nil || !slices.Contains(m.Options, "size=65536k") {
		t.Errorf("/dev/shm mount = %+v", m)
	}
}
