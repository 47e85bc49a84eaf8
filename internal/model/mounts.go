package model

// PortMapping publishes a container port on the host.
type PortMapping struct {
	HostIP        string `json:"hostIP"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Mount is a volume, bind or tmpfs mount.
type Mount struct {
	Type     string `json:"type"` // volume, bind, tmpfs
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
	// CreateHostPath: a bind whose host directory is missing is created
	// (compose's short syntax) instead of failing the start.
	CreateHostPath bool `json:"createHostPath,omitempty"`
	// External: a volume that must exist already (created by another
	// stack); starting fails when it does not, and down -v keeps it.
	External bool `json:"external,omitempty"`
	// TmpfsSize (bytes) and TmpfsMode (permission bits of the mount's
	// root) of a tmpfs; 0 = the kernel's defaults (half the RAM, 1777).
	TmpfsSize int64  `json:"tmpfsSize,omitempty"`
	TmpfsMode uint32 `json:"tmpfsMode,omitempty"`
}

// DefaultSecretMode and DefaultConfigMode are the files' modes when the
// service sets none (compose's).
const (
	DefaultSecretMode = 0o400
	DefaultConfigMode = 0o444
)

// Secret is a file whose value the runtime reads from File when it starts
// a container and writes to a tmpfs of the container's own (never a disk,
// never a log or state file). Target is a plain file name under
// /run/secrets ("" = Name) or an absolute path in the container.
type Secret struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	File   string `json:"file"` // host file holding the value (never logged)
	// UID and GID own the file; Mode is its permission bits (0 =
	// DefaultSecretMode).
	UID  uint32 `json:"uid,omitempty"`
	GID  uint32 `json:"gid,omitempty"`
	Mode uint32 `json:"mode,omitempty"`
}

// Config is a non-secret file mounted read-only at Target (absolute), its
// content inline (Content) or read from the host file File when a
// container starts.
type Config struct {
	Name    string `json:"name"`
	Target  string `json:"target"`
	File    string `json:"file,omitempty"`
	Content string `json:"content,omitempty"`
	UID     uint32 `json:"uid,omitempty"`
	GID     uint32 `json:"gid,omitempty"`
	Mode    uint32 `json:"mode,omitempty"` // 0 = DefaultConfigMode
}
