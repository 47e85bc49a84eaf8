package spec

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/signals"
)

// Value checks shared by berth.yaml and Dockerfile import. Each returns an
// error whose text is meant to follow "file:line:col: field: ".

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// checkName validates image, layer, variant and repository names: they end up
// in tags, cache keys and messages, so they are kept to a safe alphabet.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s name must not be empty", what)
	}
	if len(s) > 128 {
		return fmt.Errorf("%s name %q is longer than 128 characters", what, s)
	}
	if !nameRE.MatchString(s) {
		return fmt.Errorf("invalid %s name %q: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit", what, s)
	}
	return nil
}

// checkImagePath validates an absolute path inside the image. ".." is refused
// rather than clamped at the root: it is always a mistake in a declaration.
func checkImagePath(p string) error {
	if p == "" {
		return fmt.Errorf("path must not be empty")
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must be absolute (start with \"/\")", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("path %q must not contain \"..\"", p)
		}
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("path %q contains a NUL byte", p)
	}
	return nil
}

// cleanSource validates a source path (files.src, tar.src, go.dir): relative
// to the context and not climbing out of it, so that a build depends on the
// context alone (which .berthignore governs). The result is cleaned and
// keeps a trailing "/" when one was written, since it can be meaningful.
func cleanSource(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("path must not be empty")
	}
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", s)
	}
	if path.IsAbs(s) {
		return "", fmt.Errorf("path %q must be relative to the context directory (set context: to build from elsewhere)", s)
	}
	slash := strings.HasSuffix(s, "/")
	c := path.Clean(s)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the context directory (set context: to a directory that contains it)", s)
	}
	if slash && c != "." {
		c += "/"
	}
	return c, nil
}

// ParseMode parses a permission mode written as an octal string ("0644",
// "644", "0o644").
func ParseMode(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0o"), "0O")
	if t == "" {
		return 0, fmt.Errorf("invalid mode %q: expected octal digits such as \"0644\"", s)
	}
	v, err := strconv.ParseInt(t, 8, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid mode %q: expected octal digits such as \"0644\"", s)
	}
	if v < 0 || v > 0o7777 {
		return 0, fmt.Errorf("mode %q is out of range (0 to 07777)", s)
	}
	return v, nil
}

// modeFromYAMLInt interprets an unquoted YAML number. 0o644 and 0644 (YAML
// 1.1 style) are octal, 420 is decimal; a decimal number that only makes
// sense as octal (644 → 0o1204, a sticky bit nobody means) is refused with a
// hint instead of silently producing a surprising mode.
func modeFromYAMLInt(text string) (int64, error) {
	t := strings.ReplaceAll(text, "_", "")
	var v int64
	var err error
	switch {
	case strings.HasPrefix(t, "0o") || strings.HasPrefix(t, "0O"):
		v, err = strconv.ParseInt(t[2:], 8, 64)
	case strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "0X"):
		v, err = strconv.ParseInt(t[2:], 16, 64)
	case len(t) > 1 && t[0] == '0':
		v, err = strconv.ParseInt(t[1:], 8, 64)
	default:
		v, err = strconv.ParseInt(t, 10, 64)
		if err == nil && v > 0o777 && strings.Trim(t, "01234567") == "" {
			return 0, fmt.Errorf("mode %s is read as the decimal number %d (= 0o%o); write \"0%s\" for the octal mode", text, v, v, t)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("invalid mode %s", text)
	}
	if v < 0 || v > 0o7777 {
		return 0, fmt.Errorf("mode %s is out of range (0 to 07777)", text)
	}
	return v, nil
}

// ParseOwner parses "uid" or "uid:gid" (numeric only, so builds do not
// depend on an /etc/passwd). A lone uid means the same number as gid, as in
// Docker's --chown. "" is 0:0.
func ParseOwner(s string) (uid, gid int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	u, g, hasG := strings.Cut(s, ":")
	if uid, err = parseID(u); err != nil {
		return 0, 0, fmt.Errorf("invalid owner %q: %v (owners are numeric: \"uid\" or \"uid:gid\")", s, err)
	}
	if !hasG {
		return uid, uid, nil
	}
	if gid, err = parseID(g); err != nil {
		return 0, 0, fmt.Errorf("invalid owner %q: %v (owners are numeric: \"uid\" or \"uid:gid\")", s, err)
	}
	return uid, gid, nil
}

func parseID(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty id")
	}
	v, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number between 0 and %d", s, 1<<31-1)
	}
	return int(v), nil
}

var knownOS = map[string]bool{"linux": true}

// knownArch lists GOARCH values images exist for, with their allowed variants.
var knownArch = map[string][]string{
	"amd64":    {"v1", "v2", "v3", "v4"},
	"arm64":    {"v8", "v8.0", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v9", "v9.0"},
	"arm":      {"v5", "v6", "v7", "v8"},
	"386":      nil,
	"ppc64le":  nil,
	"s390x":    nil,
	"riscv64":  nil,
	"mips64le": nil,
	"loong64":  nil,
}

// checkPlatform validates "os/arch[/variant]".
func checkPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("invalid platform %q: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8", p)
	}
	if !knownOS[parts[0]] {
		return fmt.Errorf("unsupported platform %q: os must be linux", p)
	}
	variants, ok := knownArch[parts[1]]
	if !ok {
		archs := make([]string, 0, len(knownArch))
		for a := range knownArch {
			archs = append(archs, a)
		}
		sort.Strings(archs)
		return fmt.Errorf("unsupported platform %q: unknown architecture %q (known: %s)", p, parts[1], strings.Join(archs, ", "))
	}
	if len(parts) == 3 && !slices.Contains(variants, parts[2]) {
		if len(variants) == 0 {
			return fmt.Errorf("invalid platform %q: %s has no variants", p, parts[1])
		}
		return fmt.Errorf("invalid platform %q: variant of %s must be one of %s", p, parts[1], strings.Join(variants, ", "))
	}
	return nil
}

// parsePorts normalises one ports entry ("8080", "8080/udp", "7000-7002")
// into "port/proto" items; ranges expand as Docker's EXPOSE does.
func parsePorts(s string) ([]string, error) {
	spec, proto, hasProto := strings.Cut(strings.TrimSpace(s), "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid port %q: protocol must be tcp, udp or sctp", s)
	}
	lo, hi, isRange := strings.Cut(spec, "-")
	first, err := parsePort(lo)
	if err != nil {
		return nil, fmt.Errorf("invalid port %q: %v", s, err)
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil {
			return nil, fmt.Errorf("invalid port %q: %v", s, err)
		}
		if last < first {
			return nil, fmt.Errorf("invalid port range %q: end is below start", s)
		}
	}
	out := make([]string, 0, last-first+1)
	for p := first; p <= last; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 65535 {
		return 0, fmt.Errorf("%q is not a port number (1-65535)", s)
	}
	return v, nil
}

// sortPorts orders "port/proto" items numerically and drops duplicates.
func sortPorts(ps []string) []string {
	sort.Slice(ps, func(i, j int) bool {
		a, pa, _ := strings.Cut(ps[i], "/")
		b, pb, _ := strings.Cut(ps[j], "/")
		na, _ := strconv.Atoi(a)
		nb, _ := strconv.Atoi(b)
		if na != nb {
			return na < nb
		}
		return pa < pb
	})
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// checkSignal accepts what Docker's STOPSIGNAL accepts: a Linux signal name
// with or without "SIG", RTMIN+n, or a number 1-64 (internal/signals, the
// table the engine uses too).
func checkSignal(s string) error {
	_, err := signals.Parse(s)
	return err
}

// checkEnvName refuses names a process environment cannot carry.
func checkEnvName(k string) error {
	if k == "" {
		return fmt.Errorf("environment variable name must not be empty")
	}
	if strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("invalid environment variable name %q: must not contain '=' or NUL", k)
	}
	return nil
}

var userRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]*\$?$`)

// checkAccountName validates a user or group name as useradd does.
func checkAccountName(s string) error {
	if len(s) > 32 || !userRE.MatchString(s) {
		return fmt.Errorf("invalid name %q: use lowercase letters, digits, '_' and '-', starting with a letter or '_' (at most 32)", s)
	}
	return nil
}

var debNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// checkPackage validates a Debian package name (Debian policy 5.6.1). Versions
// are not written here: berth.lock pins them.
func checkPackage(s string) error {
	if !debNameRE.MatchString(s) {
		if strings.ContainsAny(s, "=:") {
			return fmt.Errorf("invalid Debian package name %q: write only the name; versions are pinned by berth.lock", s)
		}
		return fmt.Errorf("invalid Debian package name %q: lowercase letters, digits, '+', '-' and '.', at least 2 characters", s)
	}
	return nil
}
