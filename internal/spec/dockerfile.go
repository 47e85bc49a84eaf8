package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// ParseDockerfile imports a single-stage Dockerfile as an image: each COPY or
// ADD becomes a files layer ("copy-1", "add-2", ...) and the other
// instructions become config. Instructions that need to run something (RUN,
// ONBUILD) or fetch something (ADD of a URL) are refused with an error at
// their line naming the declarative equivalent. buildArgs override ARG
// defaults. The result has no Name; sources are relative to the Dockerfile's
// directory, which is taken as the build context.
func ParseDockerfile(path string, buildArgs map[string]string) (*Image, error) {
	return ParseDockerfileContext(path, "", buildArgs)
}

// ParseDockerfileContext is ParseDockerfile with the build context named
// (as `docker build -f FILE DIR` does); "" means the Dockerfile's directory.
func ParseDockerfileContext(path, context string, buildArgs map[string]string) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseDockerfile(path, data, buildArgs, context)
}

// ParseDockerfileBytes is ParseDockerfile for content in memory; path names
// the file in messages and locates the context for ADD archive detection.
func ParseDockerfileBytes(path string, data []byte, buildArgs map[string]string) (*Image, error) {
	return parseDockerfile(path, data, buildArgs, "")
}

func parseDockerfile(path string, data []byte, buildArgs map[string]string, context string) (*Image, error) {
	if context == "" {
		context = filepath.Dir(path)
	}
	insts, escape, err := lexDockerfile(string(data))
	if err != nil {
		line, msg, _ := strings.Cut(err.Error(), ": ")
		n, _ := strconv.Atoi(line)
		return nil, Errors{{Pos: Pos{File: path, Line: n}, Msg: msg}}
	}
	p := &dfParser{
		file:      path,
		dir:       context,
		buildArgs: buildArgs,
		args:      map[string]string{},
		global:    map[string]string{},
		env:       map[string]string{},
		workdir:   "/",
		shell:     []string{"/bin/sh", "-c"},
		img:       &Image{From: "scratch", FromKind: FromScratch, Pos: Pos{File: path, Line: 1}},
	}
	p.ex = &expander{escape: escape, lookup: p.lookup}
	for _, in := range insts {
		p.dispatch(in)
		if len(p.errs) >= maxReported {
			break
		}
	}
	if !p.sawFrom && len(p.errs) == 0 {
		p.errs = append(p.errs, &Error{Pos: Pos{File: path}, Msg: "no FROM instruction"})
	}
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.img, nil
}

type dfParser struct {
	file, dir string
	buildArgs map[string]string
	global    map[string]string // ARGs before FROM: only FROM sees them
	args      map[string]string // ARGs declared in the stage
	env       map[string]string
	workdir   string
	shell     []string
	sawFrom   bool
	img       *Image
	ex        *expander
	errs      Errors
	line      int
}

func (p *dfParser) errf(format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: Pos{File: p.file, Line: p.line}, Msg: fmt.Sprintf(format, args...)})
}

// lookup resolves $VAR inside the stage: ENV wins over ARG, as in Docker.
func (p *dfParser) lookup(k string) (string, bool) {
	if !p.sawFrom {
		v, ok := p.global[k]
		return v, ok
	}
	if v, ok := p.env[k]; ok {
		return v, true
	}
	v, ok := p.args[k]
	return v, ok
}

func (p *dfParser) words(rest string) ([]string, bool) {
	ws, err := splitWords(rest, p.ex.escape)
	if err != nil {
		p.errf("%v", err)
		return nil, false
	}
	return ws, true
}

func (p *dfParser) expand(w string) (string, bool) {
	s, err := p.ex.word(w)
	if err != nil {
		p.errf("%v", err)
		return "", false
	}
	return s, true
}

func (p *dfParser) dispatch(in instruction) {
	p.line = in.line
	if !p.sawFrom && in.cmd != "FROM" && in.cmd != "ARG" {
		if isKnownInstruction(in.cmd) {
			p.errf("%s before FROM: only ARG may come before FROM", in.cmd)
		} else {
			p.unknown(in.cmd)
		}
		return
	}
	switch in.cmd {
	case "FROM":
		p.from(in.rest)
	case "ARG":
		p.arg(in.rest)
	case "ENV":
		p.keyValues("ENV", in.rest, func(k, v string) {
			if err := checkEnvName(k); err != nil {
				p.errf("ENV: %v", err)
				return
			}
			p.env[k] = v
			p.setMap(&p.img.Config.Env, FieldEnv, k, v)
		})
	case "LABEL":
		p.keyValues("LABEL", in.rest, func(k, v string) {
			p.setMap(&p.img.Config.Labels, FieldLabels, k, v)
		})
	case "MAINTAINER":
		// Deprecated; the Dockerfile reference recommends this label.
		p.setMap(&p.img.Config.Labels, FieldLabels, "maintainer", in.rest)
	case "COPY", "ADD":
		p.copy(in.cmd, in.rest)
	case "USER":
		if s, ok := p.single("USER", in.rest); ok {
			if err := checkUser(s); err != nil {
				p.errf("USER: %v", err)
			}
			p.img.Config.User = s
			p.img.Config.Set |= FieldUser
		}
	case "WORKDIR":
		if s, ok := p.single("WORKDIR", in.rest); ok {
			if !strings.HasPrefix(s, "/") {
				s = path.Join(p.workdir, s)
			}
			if err := checkImagePath(s); err != nil {
				p.errf("WORKDIR: %v", err)
				return
			}
			p.workdir = path.Clean(s)
			p.img.Config.Workdir = p.workdir
			p.img.Config.Set |= FieldWorkdir
		}
	case "ENTRYPOINT":
		p.img.Config.Entrypoint = p.command(in.rest)
		p.img.Config.Set |= FieldEntrypoint
	case "CMD":
		p.img.Config.Cmd = p.command(in.rest)
		p.img.Config.Set |= FieldCmd
	case "SHELL":
		sh, ok := jsonArgs(in.rest)
		if !ok || len(sh) == 0 {
			p.errf("SHELL must be a JSON array, e.g. SHELL [\"/bin/bash\", \"-c\"]")
			return
		}
		p.shell = sh
	case "EXPOSE":
		p.expose(in.rest)
	case "VOLUME":
		p.volume(in.rest)
	case "STOPSIGNAL":
		if s, ok := p.single("STOPSIGNAL", in.rest); ok {
			if err := checkSignal(s); err != nil {
				p.errf("STOPSIGNAL: %v", err)
			}
			p.img.Config.StopSignal = s
			p.img.Config.Set |= FieldStopSignal
		}
	case "HEALTHCHECK":
		p.healthcheck(in.rest)
	case "RUN":
		p.errf("RUN is not supported: berth builds without running commands; install packages with a `debs` layer, create users with `users`, directories and symlinks with `paths`")
	case "ONBUILD":
		p.errf("ONBUILD is not supported: berth images carry no build triggers; describe the derived image's layers in berth.yaml instead")
	default:
		p.unknown(in.cmd)
	}
}

var knownInstructions = []string{"FROM", "ARG", "ENV", "LABEL", "MAINTAINER", "COPY", "ADD", "USER", "WORKDIR", "ENTRYPOINT", "CMD", "SHELL", "EXPOSE", "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "RUN", "ONBUILD"}

func isKnownInstruction(s string) bool { return slices.Contains(knownInstructions, s) }

func (p *dfParser) unknown(cmd string) {
	msg := fmt.Sprintf("unknown instruction %q", cmd)
	if s := suggest(cmd, knownInstructions); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	p.errf("%s", msg)
}

func (p *dfParser) from(rest string) {
	if p.sawFrom {
		p.errf("multi-stage builds are not supported; berth imports single-stage Dockerfiles only: describe each stage as an image in berth.yaml (a later image can use `from:` an earlier one, a Go build stage becomes a `go` layer)")
		return
	}
	// FROM sees the ARGs declared before it; after it, the stage's scope
	// applies.
	defer func() { p.sawFrom = true }()
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	flags, args := splitFlags(ws)
	for _, f := range flags {
		k, v, _ := strings.Cut(f, "=")
		if k != "--platform" {
			p.errf("FROM: unsupported flag %s", k)
			continue
		}
		plat, ok := p.expand(v)
		if !ok || plat == "" {
			continue // e.g. $BUILDPLATFORM not given: the host's
		}
		if err := checkPlatform(plat); err != nil {
			p.errf("FROM: %v", err)
			continue
		}
		p.img.Platform = plat
	}
	if len(args) != 1 && !(len(args) == 3 && strings.EqualFold(args[1], "AS")) {
		p.errf("FROM needs an image, optionally followed by AS name")
		return
	}
	ref, ok := p.expand(args[0])
	if !ok {
		return
	}
	if ref == "scratch" {
		return
	}
	if _, err := name.ParseReference(ref); err != nil {
		p.errf("FROM: invalid image reference %q: %v", ref, err)
		return
	}
	p.img.From, p.img.FromKind = ref, FromRegistry
}

func (p *dfParser) arg(rest string) {
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	if len(ws) == 0 {
		p.errf("ARG needs a name")
	}
	for _, w := range ws {
		k, def, hasDef := strings.Cut(w, "=")
		if !validVarName(k) {
			p.errf("ARG: invalid name %q", k)
			continue
		}
		scope := p.args
		if !p.sawFrom {
			scope = p.global
		}
		if v, ok := p.buildArgs[k]; ok {
			scope[k] = v
			continue
		}
		if hasDef {
			if v, ok := p.expand(def); ok {
				scope[k] = v
			}
			continue
		}
		// "ARG NAME" inside the stage brings a global ARG's value in.
		if v, ok := p.global[k]; ok && p.sawFrom {
			scope[k] = v
		}
	}
}

// keyValues handles ENV and LABEL: "k=v k2=v2" or the legacy "k value".
func (p *dfParser) keyValues(cmd, rest string, set func(k, v string)) {
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	if len(ws) == 0 {
		p.errf("%s needs at least one key=value", cmd)
		return
	}
	if !strings.Contains(ws[0], "=") {
		// Legacy form: the first word is the key, the rest of the line
		// (spacing kept) the value.
		k, ok := p.expand(ws[0])
		if !ok {
			return
		}
		if len(ws) < 2 {
			p.errf("%s %s needs a value (write %s %s=value)", cmd, k, cmd, k)
			return
		}
		raw := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ws[0]))
		if v, ok := p.expand(raw); ok {
			set(k, v)
		}
		return
	}
	for _, w := range ws {
		kw, vw, found := strings.Cut(w, "=")
		if !found {
			p.errf("%s: expected key=value, got %q", cmd, w)
			continue
		}
		k, ok1 := p.expand(kw)
		v, ok2 := p.expand(vw)
		if !ok1 || !ok2 {
			continue
		}
		if k == "" {
			p.errf("%s: empty key in %q", cmd, w)
			continue
		}
		set(k, v)
	}
}

func (p *dfParser) setMap(m *map[string]string, f ConfigField, k, v string) {
	if *m == nil {
		*m = map[string]string{}
	}
	(*m)[k] = v
	p.img.Config.Set |= f
}

// single expands an instruction whose argument is one value (spaces kept).
func (p *dfParser) single(cmd, rest string) (string, bool) {
	if rest == "" {
		p.errf("%s needs a value", cmd)
		return "", false
	}
	return p.expand(rest)
}

// command handles CMD and ENTRYPOINT: the JSON form as is, the shell form
// wrapped in the current SHELL.
func (p *dfParser) command(rest string) []string {
	if args, ok := jsonArgs(rest); ok {
		return args
	}
	if rest == "" {
		return []string{}
	}
	return append(append([]string{}, p.shell...), rest)
}

func (p *dfParser) expose(rest string) {
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	if len(ws) == 0 {
		p.errf("EXPOSE needs at least one port")
	}
	for _, w := range ws {
		s, ok := p.expand(w)
		if !ok {
			continue
		}
		ps, err := parsePorts(s)
		if err != nil {
			p.errf("EXPOSE: %v", err)
			continue
		}
		p.img.Config.Ports = sortPorts(append(p.img.Config.Ports, ps...))
		p.img.Config.Set |= FieldPorts
	}
}

func (p *dfParser) volume(rest string) {
	vols, ok := jsonArgs(rest)
	if !ok {
		ws, ok := p.words(rest)
		if !ok {
			return
		}
		vols = ws
	}
	if len(vols) == 0 {
		p.errf("VOLUME needs at least one path")
	}
	for _, w := range vols {
		s, ok := p.expand(w)
		if !ok {
			continue
		}
		if err := checkImagePath(s); err != nil {
			p.errf("VOLUME: %v", err)
			continue
		}
		if !slices.Contains(p.img.Config.Volumes, s) {
			p.img.Config.Volumes = append(p.img.Config.Volumes, s)
		}
		p.img.Config.Set |= FieldVolumes
	}
}

func (p *dfParser) healthcheck(rest string) {
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	flags, args := splitFlags(ws)
	if len(args) == 0 {
		p.errf("HEALTHCHECK needs NONE or CMD command")
		return
	}
	h := &Healthcheck{}
	switch strings.ToUpper(args[0]) {
	case "NONE":
		if len(flags) > 0 || len(args) > 1 {
			p.errf("HEALTHCHECK NONE takes no flags or arguments")
			return
		}
		h.Test = []string{"NONE"}
	case "CMD":
		// The command is the text after CMD, spacing kept.
		cmdText := strings.TrimSpace(restAfterFlags(rest, len(flags))[len(args[0]):])
		if cmdText == "" {
			p.errf("HEALTHCHECK CMD needs a command")
			return
		}
		if j, ok := jsonArgs(cmdText); ok {
			if len(j) == 0 {
				p.errf("HEALTHCHECK CMD needs a command")
				return
			}
			h.Test = append([]string{"CMD"}, j...)
		} else {
			h.Test = []string{"CMD-SHELL", cmdText}
		}
	default:
		p.errf("HEALTHCHECK needs NONE or CMD, got %q", args[0])
		return
	}
	for _, f := range flags {
		k, v, _ := strings.Cut(f, "=")
		var dst *time.Duration
		switch k {
		case "--interval":
			dst = &h.Interval
		case "--timeout":
			dst = &h.Timeout
		case "--start-period":
			dst = &h.StartPeriod
		case "--start-interval":
			dst = &h.StartInterval
		case "--retries":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				p.errf("HEALTHCHECK --retries: %q is not a whole number >= 0", v)
				continue
			}
			h.Retries = n
			continue
		default:
			p.errf("HEALTHCHECK: unknown flag %s", k)
			continue
		}
		d, err := parseHealthDuration(v)
		if err != nil {
			p.errf("HEALTHCHECK %s: %v", k, err)
			continue
		}
		*dst = d
	}
	p.img.Config.Healthcheck = h
	p.img.Config.Set |= FieldHealthcheck
}

// copy turns COPY/ADD into a files layer.
func (p *dfParser) copy(cmd, rest string) {
	ws, ok := p.words(rest)
	if !ok {
		return
	}
	flags, args := splitFlags(ws)
	var mode *int64
	owner := ""
	for _, f := range flags {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "--chown":
			s, ok := p.expand(v)
			if !ok {
				continue
			}
			if _, _, err := ParseOwner(s); err != nil {
				p.errf("%s --chown=%s: only numeric uid[:gid] is supported (berth does not read the image's /etc/passwd)", cmd, s)
				continue
			}
			owner = s
		case "--chmod":
			m, err := ParseMode(v)
			if err != nil {
				p.errf("%s --chmod=%s: only octal modes are supported (e.g. --chmod=0644)", cmd, v)
				continue
			}
			mode = &m
		case "--link":
			// A build-cache hint; berth layers are independent anyway.
		case "--from":
			p.errf("%s --from is not supported: multi-stage builds are not supported; describe the stage as an image in berth.yaml", cmd)
			return
		default:
			p.errf("%s: unsupported flag %s", cmd, k)
		}
	}
	// The JSON form allows paths with spaces.
	if j, ok := jsonArgs(restAfterFlags(rest, len(flags))); ok {
		args = j
	} else {
		for _, a := range args {
			if strings.HasPrefix(a, "<<") {
				p.errf("%s with a here-document is not supported; put the content in a file, or use a `paths` entry with type: file and content:", cmd)
				return
			}
		}
	}
	if len(args) < 2 {
		p.errf("%s needs at least one source and a destination", cmd)
		return
	}
	srcs, destRaw := args[:len(args)-1], args[len(args)-1]
	dest, ok := p.expand(destRaw)
	if !ok {
		return
	}
	if !strings.HasPrefix(dest, "/") {
		// Relative destinations are relative to WORKDIR.
		slash := strings.HasSuffix(dest, "/") || dest == "." || dest == ""
		dest = path.Join(p.workdir, dest)
		if slash && dest != "/" {
			dest += "/"
		}
	}
	if err := checkImagePath(dest); err != nil {
		p.errf("%s destination: %v", cmd, err)
		return
	}
	if len(srcs) > 1 && !strings.HasSuffix(dest, "/") {
		p.errf("%s with more than one source needs a directory destination ending in \"/\", got %q", cmd, dest)
		return
	}
	lay := Layer{Name: fmt.Sprintf("%s-%d", strings.ToLower(cmd), len(p.img.Layers)+1), Pos: Pos{File: p.file, Line: p.line}}
	for _, sw := range srcs {
		src, ok := p.expand(sw)
		if !ok {
			continue
		}
		// In a Dockerfile, "/x" names x at the root of the context.
		c, err := cleanSource(strings.TrimLeft(src, "/"))
		if src == "/" || strings.Trim(src, "/") == "" {
			c, err = ".", nil
		}
		if err != nil && !isRemote(src) {
			p.errf("%s source %q is outside the build context", cmd, src)
			continue
		}
		if cmd == "ADD" && !p.addSourceOK(src, c) {
			continue
		}
		lay.Files = append(lay.Files, FileItem{Src: c, Dest: dest, Mode: cloneMode(mode), Owner: owner})
	}
	if len(lay.Files) == len(srcs) {
		p.img.Layers = append(p.img.Layers, lay)
	}
}

// restAfterFlags returns rest with its first n words (the flags) removed.
func restAfterFlags(rest string, n int) string {
	s := strings.TrimLeft(rest, " \t")
	for ; n > 0; n-- {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t")
	}
	return s
}

var archiveExts = []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar.lz", ".tar.lzma"}

// addSourceOK refuses what ADD would fetch or unpack: remote sources, and
// local archives, which Docker extracts but berth copies verbatim (a tar
// layer is the explicit way to unpack one).
// src is as written, clean the checked path relative to the context.
func (p *dfParser) addSourceOK(src, clean string) bool {
	lower := strings.ToLower(src)
	if isRemote(src) {
		p.errf("ADD %s: remote sources are not supported: download the file into the context (pinning its checksum) and copy it with a `files` layer", src)
		return false
	}
	archive := false
	for _, ext := range archiveExts {
		if strings.HasSuffix(lower, ext) {
			archive = true
		}
	}
	if !archive {
		archive = p.sniffArchive(clean)
	}
	if archive {
		p.errf("ADD %s: ADD would extract this archive, which berth does not do implicitly: use a layer with tar: {src: %s} to unpack it, or COPY to copy the file as is", src, strings.TrimLeft(src, "/"))
		return false
	}
	return true
}

// isRemote reports whether an ADD source names something to fetch.
func isRemote(src string) bool {
	lower := strings.ToLower(src)
	for _, pre := range []string{"http://", "https://", "git@", "git://", "ssh://"} {
		if strings.HasPrefix(lower, pre) {
			return true
		}
	}
	return false
}

// sniffArchive reports whether the context file rel starts like a tar or a
// compressed stream (which Docker's ADD would try to extract). Missing files
// are not archives: the files source reports them at build time. Only a file
// that resolves inside the context is opened.
func (p *dfParser) sniffArchive(rel string) bool {
	root, err := realPath(filepath.Clean(p.dir))
	if err != nil {
		return false
	}
	real, ok, err := insideRoot(root, filepath.Join(p.dir, filepath.FromSlash(rel)))
	if err != nil || !ok {
		return false
	}
	f, err := os.Open(real)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	head = head[:n]
	for _, magic := range [][]byte{{0x1f, 0x8b}, []byte("BZh"), {0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	return n >= 262 && bytes.Equal(head[257:262], []byte("ustar"))
}
