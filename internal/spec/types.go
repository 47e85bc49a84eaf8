// Package spec loads berth.yaml (the build part: vars, context, repositories,
// images) into validated, interpolated Go values, and imports Dockerfiles
// into the same model. It does not touch the network or read sources; it
// only checks the file is well-formed so that a build fails before any work
// with a message naming file:line:column and the field.
package spec

import (
	"time"

	"go.yaml.in/yaml/v4"
)

// File is a loaded berth.yaml.
type File struct {
	Path    string // absolute path of the file
	Dir     string // its directory (absolute)
	Context string // absolute directory (symlinks resolved) that files/go/tar sources are relative to; default Root
	// Root is the directory the file may read from (symlinks resolved):
	// Dir, or LoadOptions.Root (berth build --context). Context, from:
	// oci-layout:/docker-archive: paths and keyrings lie inside it.
	Root string

	// Vars holds the final value of every vars: entry (after --set and
	// environment precedence and interpolation) plus every --set KEY. It is
	// what file templates see.
	Vars map[string]string

	Repositories []Repository
	Images       map[string]*Image
	ImageOrder   []string // image names in file order

	// Services and Environments are kept as raw YAML (nil when absent) for
	// the engine and deploy parts of berth; they are not validated here.
	Services, Environments *yaml.Node
	// Compose holds the other compose-format top-level sections of the
	// stack (volumes, secrets, configs, networks), raw, by key.
	Compose map[string]*yaml.Node
}

// Repository is a Debian apt repository that debs layers resolve from.
type Repository struct {
	Name       string
	URL        string // http://, https:// or file://
	Suite      string
	Components []string // default [main]
	Keyring    string   // absolute path, or "" (no signature verification)
	Pos        Pos
}

// FromKind says what an image's From refers to.
type FromKind int

const (
	FromScratch       FromKind = iota // empty base
	FromImage                         // another image of the same file (From is its name)
	FromRegistry                      // a registry reference (From as written)
	FromOCILayout                     // "oci-layout:DIR" (From carries DIR made absolute)
	FromDockerArchive                 // "docker-archive:FILE" (From carries FILE made absolute)
)

func (k FromKind) String() string {
	switch k {
	case FromScratch:
		return "scratch"
	case FromImage:
		return "image"
	case FromRegistry:
		return "registry"
	case FromOCILayout:
		return "oci-layout"
	case FromDockerArchive:
		return "docker-archive"
	}
	return "unknown"
}

// Image is one entry of images:.
type Image struct {
	Name string
	// From is "scratch", the name of another image of the file, a registry
	// reference, or "oci-layout:/abs/dir" / "docker-archive:/abs/file.tar".
	From     string
	FromKind FromKind
	// Platform is "os/arch[/variant]", or "" for the host's. An image
	// built on another image of the file inherits that image's platform.
	Platform string
	Layers   []Layer
	Config   Config
	Variants map[string]*Variant
	Pos      Pos
}

// Variant is a named variation of an image: layers appended on top of the
// image's own and a config merged over the image's.
type Variant struct {
	Layers []Layer
	Config Config
	Pos    Pos
}

// Layer is one layer: a name (its concern) and exactly one source.
type Layer struct {
	Name   string
	Debs   *Debs
	Files  []FileItem
	Go     *GoBuild
	Users  []User // Users and Groups together are one source (accounts)
	Groups []Group
	Paths  []PathItem
	Tar    *Tar
	Pos    Pos
}

// Kind names the layer's source: "debs", "files", "go", "accounts",
// "paths" or "tar".
func (l *Layer) Kind() string {
	switch {
	case l.Debs != nil:
		return "debs"
	case l.Files != nil:
		return "files"
	case l.Go != nil:
		return "go"
	case l.Users != nil || l.Groups != nil:
		return "accounts"
	case l.Paths != nil:
		return "paths"
	case l.Tar != nil:
		return "tar"
	}
	return ""
}

// Debs installs Debian packages (and their dependencies).
type Debs struct {
	Packages     []string
	Repositories []string // names from File.Repositories; empty = all of them
}

// FileItem copies a file or directory from the context into the image.
type FileItem struct {
	Src  string // relative to the context (cleaned, slash-separated; a trailing "/" is kept)
	Dest string // absolute image path; a trailing "/" means "into this directory"
	Mode *int64 // nil = keep the source's permission bits
	// Owner is "uid" or "uid:gid" (numeric; "" = 0:0). See ParseOwner.
	Owner    string
	Template bool // render Src as a Go text/template with File.Vars
}

// GoBuild compiles a Go main package.
type GoBuild struct {
	Package string // main package, e.g. "./cmd/web", relative to Dir
	Dir     string // module directory relative to the context; default "."
	Output  string // absolute image path of the binary
	Ldflags string
	Tags    []string
}

// User is an /etc/passwd entry.
type User struct {
	Name  string
	UID   int
	GID   int    // default: UID
	Home  string // default "/home/NAME" ("/root" for uid 0)
	Shell string // default "/sbin/nologin"
	Gecos string
}

// Group is an /etc/group entry.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// Path types of PathItem.Type.
const (
	PathDirectory = "directory"
	PathSymlink   = "symlink"
	PathFile      = "file"
)

// PathItem creates a directory, symlink or small file.
type PathItem struct {
	Path    string // absolute image path
	Type    string // PathDirectory, PathSymlink or PathFile
	Target  string // symlinks only
	Content string // files only
	Mode    *int64 // nil = 0755 for directories, 0644 for files; never set for symlinks
	Owner   string // "uid" or "uid:gid"; "" = 0:0
}

// Tar unpacks a tarball or copies a directory tree as the layer's contents.
type Tar struct {
	Src string // relative to the context (cleaned)
}

// ConfigField is a bit naming one Config field, for Config.Set.
type ConfigField uint16

const (
	FieldEnv ConfigField = 1 << iota
	FieldEntrypoint
	FieldCmd
	FieldWorkdir
	FieldUser
	FieldStopSignal
	FieldPorts
	FieldVolumes
	FieldLabels
	FieldAnnotations
	FieldHealthcheck
)

// Config is the runtime configuration of an image. Set records which fields
// the file wrote: an unset field inherits (from the base image, or for a
// variant from the image), while a field set to an empty value clears it.
type Config struct {
	Env         map[string]string
	Entrypoint  []string
	Cmd         []string
	Workdir     string
	User        string
	StopSignal  string
	Ports       []string // "8080/tcp" form, sorted, unique
	Volumes     []string // absolute paths
	Labels      map[string]string
	Annotations map[string]string
	Healthcheck *Healthcheck
	Set         ConfigField
}

// Has reports whether the file set field f.
func (c *Config) Has(f ConfigField) bool { return c.Set&f != 0 }

// Healthcheck is Docker's HEALTHCHECK. Zero durations and retries mean "the
// runtime's default".
type Healthcheck struct {
	Test          []string // ["NONE"], ["CMD", args...] or ["CMD-SHELL", command]
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}
