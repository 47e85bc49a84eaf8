package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/engine"
	"github.com/berth-dev/berth/internal/engine/runtime"
	"github.com/berth-dev/berth/internal/model"
)

// containerRuntime adapts internal/engine/runtime (runc under a supervisor
// per container) to engine.Runtime.
type containerRuntime struct {
	runc       runtime.Runc
	root       string     // the daemon's root: containers/<id>, volumes/<name>
	executable string     // the berth binary; berth-shim is looked for next to it
	starts     *startGate // the networks' gate: Start ends the start they began
	apparmor   string     // the containers' AppArmor profile; "" without AppArmor
}

func (r *containerRuntime) dir(id string) string { return filepath.Join(r.root, "containers", id) }

// Start writes the container's host files (resolv.conf, hosts, hostname),
// its secrets on a tmpfs, the OCI spec, and starts its supervisor.
func (r *containerRuntime) Start(ctx context.Context, c engine.ContainerConfig) (err error) {
	// Running or failed, the start is over (networks.Attach began it).
	defer r.starts.end(c.ID)
	// A failed start leaves no secrets tmpfs behind (the engine removes
	// the container's directory, which a mount would keep busy).
	defer func() {
		if secrets := filepath.Join(c.Dir, "secrets"); err != nil && isMountpoint(secrets) {
			_ = unix.Unmount(secrets, unix.MNT_DETACH)
		}
	}()
	etc := filepath.Join(c.Dir, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	resolv := "nameserver " + c.Nameserver + "\noptions ndots:0\n"
	if c.Nameserver == "" {
		resolv = ""
	}
	hosts := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	if c.IP != "" {
		hosts += c.IP + "\t" + c.Hostname + "\n"
	}
	for name, content := range map[string]string{"resolv.conf": resolv, "hosts": hosts, "hostname": c.Hostname + "\n"} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	mounts, err := r.mounts(c)
	if err != nil {
		return err
	}
	svc := c.Service
	spec, err := runtime.Spec(ctx, runtime.Container{
		ID: c.ID, Rootfs: c.Rootfs, Args: c.Args, Env: c.Env, Cwd: c.Cwd, User: c.User, Hostname: c.Hostname,
		ReadOnlyRootfs: svc.ReadOnly, Mounts: mounts, NetNS: c.NetNS,
		Resources: runtime.Resources{MemoryBytes: svc.MemoryBytes, CPUQuota: svc.CPUs, PidsLimit: svc.Pids},
		CapAdd:    svc.CapAdd, CapDrop: svc.CapDrop, AppArmorProfile: r.apparmor,
		ResolvConf: filepath.Join(etc, "resolv.conf"), Hosts: filepath.Join(etc, "hosts"), HostnameFile: filepath.Join(etc, "hostname"),
	})
	if err != nil {
		return err
	}
	if err := runtime.WriteSpec(c.Dir, spec); err != nil {
		return err
	}
	// Looked up per start (a few stats), so installing berth-shim next to
	// a running daemon takes effect for the next container.
	shimExe, shimArgs := runtime.FindShim(r.executable)
	_, err = runtime.StartShim(ctx, runtime.ShimOptions{
		Executable: shimExe, Args: shimArgs, Bundle: c.Dir, ID: c.ID,
		LogPath: filepath.Join(c.Dir, "container.log"), LogMaxSize: 10 << 20, LogMaxFiles: 3, Runtime: r.runc,
	})
	return err
}

// mounts turns volumes, bind mounts, tmpfs mounts, secrets and configs
// into runtime mounts. Secrets are written to a tmpfs of the container's
// own, so their values never touch a disk; secrets and configs are
// bind-mounted read-only, owned and moded as the service asked.
func (r *containerRuntime) mounts(c engine.ContainerConfig) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, m := range c.Mounts {
		switch m.Type {
		case "volume":
			if strings.ContainsAny(m.Source, "/\\") || m.Source == "" || m.Source == "." || m.Source == ".." {
				return nil, fmt.Errorf("volume name %q is invalid", m.Source)
			}
			src := filepath.Join(r.root, "volumes", m.Source, "_data")
			if m.External {
				if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
					return nil, fmt.Errorf("external volume %s does not exist (external volumes are created by another stack)", m.Source)
				}
			} else if err := os.MkdirAll(src, 0o755); err != nil {
				return nil, err
			}
			out = append(out, runtime.Mount{Source: src, Destination: m.Target, Type: "bind", ReadOnly: m.ReadOnly})
		case "bind":
			if !filepath.IsAbs(m.Source) {
				return nil, fmt.Errorf("bind mount source %q must be an absolute path", m.Source)
			}
			if _, err := os.Stat(m.Source); errors.Is(err, os.ErrNotExist) && m.CreateHostPath {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return nil, fmt.Errorf("bind mount source %s: %w", m.Source, err)
				}
			} else if err != nil {
				return nil, fmt.Errorf("bind mount source %s: %w", m.Source, err)
			}
			out = append(out, runtime.Mount{Source: m.Source, Destination: m.Target, Type: "bind", ReadOnly: m.ReadOnly})
		case "tmpfs":
			opts, err := tmpfsOptions(m)
			if err != nil {
				return nil, err
			}
			out = append(out, runtime.Mount{Destination: m.Target, Type: "tmpfs", ReadOnly: m.ReadOnly, Options: opts})
		default:
			return nil, fmt.Errorf("mount type %q is not supported", m.Type)
		}
	}
	if len(c.Secrets) > 0 {
		dir := filepath.Join(c.Dir, "secrets")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if !isMountpoint(dir) {
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=1m,mode=0700"); err != nil {
				return nil, fmt.Errorf("secrets tmpfs: %w", err)
			}
		}
		ms, err := secretsMounts(dir, c.Secrets)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	if len(c.Configs) > 0 {
		ms, err := configsMounts(filepath.Join(c.Dir, "configs"), c.Configs)
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// tmpfsOptions are a tmpfs mount's size and mode options.
func tmpfsOptions(m model.Mount) ([]string, error) {
	var opts []string
	if m.TmpfsSize < 0 {
		return nil, fmt.Errorf("tmpfs %s: size %d must not be negative", m.Target, m.TmpfsSize)
	}
	if m.TmpfsSize > 0 {
		opts = append(opts, "size="+strconv.FormatInt(m.TmpfsSize, 10))
	}
	if m.TmpfsMode > 0o7777 {
		return nil, fmt.Errorf("tmpfs %s: mode %o out of range", m.Target, m.TmpfsMode)
	}
	if m.TmpfsMode != 0 {
		opts = append(opts, "mode="+strconv.FormatUint(uint64(m.TmpfsMode), 8))
	}
	return opts, nil
}

func isMountpoint(dir string) bool {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(raw, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) > 4 && string(f[4]) == dir {
			return true
		}
	}
	return false
}

func (r *containerRuntime) Wait(ctx context.Context, id string) (engine.Exit, error) {
	x, err := runtime.WaitExit(ctx, r.dir(id))
	if err != nil {
		return engine.Exit{}, err
	}
	return engine.Exit{Code: x.ExitCode, OOMKilled: x.OOMKilled, StartedAt: x.StartedAt, FinishedAt: x.FinishedAt}, nil
}

func (r *containerRuntime) Kill(id string, sig syscall.Signal) error { return r.runc.Kill(id, sig) }

// Delete removes the runc container and unmounts the secrets tmpfs.
func (r *containerRuntime) Delete(id string) error {
	err := r.runc.Delete(id)
	secrets := filepath.Join(r.dir(id), "secrets")
	if isMountpoint(secrets) {
		if uerr := unix.Unmount(secrets, unix.MNT_DETACH); uerr != nil && !errors.Is(uerr, unix.EINVAL) {
			err = errors.Join(err, uerr)
		}
	}
	return err
}

func (r *containerRuntime) Exec(ctx context.Context, id string, args []string) (int, string, error) {
	var out bytes.Buffer
	code, err := r.runc.Exec(ctx, id, runtime.ExecOptions{Args: args, Stdout: &out, Stderr: &out})
	s := out.String()
	if len(s) > 4096 {
		s = s[:4096]
	}
	return code, s, err
}

func (r *containerRuntime) Running(id string) bool {
	st, err := runtime.Adopt(r.dir(id))
	return err == nil && st.ShimAlive && st.InitAlive
}

// ExecIO runs an interactive process in the container.
func (r *containerRuntime) ExecIO(ctx context.Context, id string, o engine.ExecIO) (int, error) {
	var resize chan runtime.Size
	if o.Resize != nil {
		resize = make(chan runtime.Size, 1)
		go func() {
			for hw := range o.Resize {
				select { // never block: a resize after the exec ended is dropped
				case resize <- runtime.Size{Rows: hw[0], Cols: hw[1]}:
				default:
				}
			}
			close(resize)
		}()
	}
	return r.runc.Exec(ctx, id, runtime.ExecOptions{Args: o.Args, Env: o.Env, User: o.User, Tty: o.Tty,
		Size: runtime.Size{Rows: o.Height, Cols: o.Width}, Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Resize: resize})
}

// Stats reads the container's cgroup counters and the byte counters of its
// network namespace, as seen by its init process (/proc/<pid>/net/dev
// shows the namespace of the process), over all interfaces but lo.
func (r *containerRuntime) Stats(id string) (engine.Stats, error) {
	st, err := runtime.ReadStats(runtime.CgroupsPath("", id))
	if err != nil {
		return engine.Stats{}, err
	}
	out := engine.Stats{CPUNanos: st.CPUUsageNanos, MemoryLimit: st.MemoryLimit, Pids: st.PidsCurrent}
	// Usage minus inactive page cache, as docker stats shows; the two are
	// read apart, so the cache may briefly exceed the usage.
	if st.MemoryUsage > st.MemoryCache {
		out.MemoryBytes = st.MemoryUsage - st.MemoryCache
	}
	shim, err := runtime.Adopt(r.dir(id))
	if err != nil || !shim.InitAlive {
		return out, nil // exited between the readings: no namespace left to count
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", shim.InitPid))
	if err != nil {
		return out, nil // the init exited just now
	}
	out.NetRxBytes, out.NetTxBytes, err = parseNetDev(raw)
	if err != nil {
		return engine.Stats{}, fmt.Errorf("container %s: %w", id, err)
	}
	return out, nil
}

// parseNetDev sums the received and transmitted bytes of /proc/net/dev
// over every interface but the loopback: two header lines, then
// "iface: rx_bytes rx_packets ... (8 receive fields) tx_bytes ...".
func parseNetDev(raw []byte) (rx, tx uint64, err error) {
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		if i < 2 || strings.TrimSpace(line) == "" {
			continue
		}
		name, counters, ok := strings.Cut(line, ":")
		if !ok {
			return 0, 0, fmt.Errorf("/proc/net/dev line %d: no interface name in %q", i+1, line)
		}
		if strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(counters)
		if len(f) < 9 {
			return 0, 0, fmt.Errorf("/proc/net/dev line %d: %d counters, want 16", i+1, len(f))
		}
		r, rerr := strconv.ParseUint(f[0], 10, 64)
		t, terr := strconv.ParseUint(f[8], 10, 64)
		if rerr != nil || terr != nil {
			return 0, 0, fmt.Errorf("/proc/net/dev line %d: byte counters %q, %q are not numbers", i+1, f[0], f[8])
		}
		rx, tx = rx+r, tx+t
	}
	return rx, tx, nil
}
