package runtime

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultCapabilities is Docker's default capability set (moby's
// caps.DefaultCapabilities); CapEff of a root process is 0xa80425fb.
var defaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities lists Linux capabilities by number (index = bit).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// normalizeCap accepts "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" (and
// "ALL") and returns the canonical CAP_ name.
func normalizeCap(s string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if c == "ALL" {
		return c, nil
	}
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	for _, known := range allCapabilities {
		if known == c {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q", s)
}

func normalizeCaps(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		c, err := normalizeCap(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// availableCapabilities is what "ALL" means on this host: capabilities the
// kernel knows and that this process can still grant (it holds them in its
// bounding set). Granting one it lacks would make runc's capset fail.
func availableCapabilities() []string {
	last := len(allCapabilities) - 1
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n < last {
			last = n
		}
	}
	var out []string
	for i := 0; i <= last; i++ {
		if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(i), 0, 0, 0); err == nil && r != 1 {
			continue
		}
		out = append(out, allCapabilities[i])
	}
	return out
}

// tweakCapabilities applies cap_add/cap_drop to Docker's defaults with
// Docker's rules: "ALL" in add grants everything except what is dropped,
// "ALL" in drop keeps only what is added; otherwise drop first, then add.
func tweakCapabilities(add, drop []string) ([]string, error) {
	capAdd, err := normalizeCaps("cap_add", add)
	if err != nil {
		return nil, err
	}
	capDrop, err := normalizeCaps("cap_drop", drop)
	if err != nil {
		return nil, err
	}
	var caps []string
	switch {
	case slices.Contains(capAdd, "ALL"):
		for _, c := range availableCapabilities() {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(capDrop, "ALL"):
		caps = appendUnique(caps, capAdd...)
	default:
		for _, c := range defaultCapabilities {
			if !slices.Contains(capDrop, c) {
				caps = append(caps, c)
			}
		}
		caps = appendUnique(caps, capAdd...)
	}
	if caps == nil {
		caps = []string{}
	}
	return caps, nil
}

func appendUnique(list []string, items ...string) []string {
	for _, s := range items {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
