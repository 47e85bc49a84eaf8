package spec

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeDockerfile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseDockerfile(t *testing.T) {
	p := writeDockerfile(t, `# syntax=docker/dockerfile:1
# check=skip=all
ARG BASE=debian:bookworm
ARG VERSION=1.0
FROM --platform=linux/arm64 ${BASE} AS final
ARG VERSION
ARG PORT=8080
ENV APP_HOME=/app \
    GREETING="hello world" \
    # a comment inside a continuation is dropped
    EMPTY=
ENV LEGACY value with   spaces
LABEL org.opencontainers.image.version=$VERSION "multi word"="a b" quoted='${NOT_EXPANDED}'
WORKDIR ${APP_HOME}
WORKDIR sub
COPY --chown=1000:1000 --chmod=0755 bin/web ./
COPY ["with space.txt", "/etc/with space.txt"]
COPY a b /opt/
ADD --link conf.d /etc/conf.d
USER 1000:1000
EXPOSE ${PORT} 53/udp
VOLUME ["/data", "/cache"]
VOLUME /logs
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s --timeout=5s --start-period=1s --start-interval=2s --retries=4 \
  CMD curl -f http://localhost:${PORT}/ || exit 1
ENTRYPOINT ["/app/sub/web"]
CMD --port 8080
`)
	img, err := ParseDockerfile(p, map[string]string{"VERSION": "2.0"})
	if err != nil {
		t.Fatal(err)
	}
	if img.From != "debian:bookworm" || img.FromKind != FromRegistry || img.Platform != "linux/arm64" {
		t.Errorf("from: %q %v %q", img.From, img.FromKind, img.Platform)
	}
	c := img.Config
	wantEnv := map[string]string{"APP_HOME": "/app", "GREETING": "hello world", "EMPTY": "", "LEGACY": "value with   spaces"}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("env = %q, want %q", c.Env, wantEnv)
	}
	wantLabels := map[string]string{"org.opencontainers.image.version": "2.0", "multi word": "a b", "quoted": "${NOT_EXPANDED}"}
	if !reflect.DeepEqual(c.Labels, wantLabels) {
		t.Errorf("labels = %q, want %q", c.Labels, wantLabels)
	}
	if c.Workdir != "/app/sub" || c.User != "1000:1000" || c.StopSignal != "SIGINT" {
		t.Errorf("workdir %q user %q signal %q", c.Workdir, c.User, c.StopSignal)
	}
	if !slices.Equal(c.Ports, []string{"53/udp", "8080/tcp"}) || !slices.Equal(c.Volumes, []string{"/data", "/cache", "/logs"}) {
		t.Errorf("ports %v volumes %v", c.Ports, c.Volumes)
	}
	h := c.Healthcheck
	if !slices.Equal(h.Test, []string{"CMD-SHELL", "curl -f http://localhost:${PORT}/ || exit 1"}) ||
		h.Interval != 30*time.Second || h.Timeout != 5*time.Second || h.StartPeriod != time.Second || h.StartInterval != 2*time.Second || h.Retries != 4 {
		t.Errorf("healthcheck: %+v", h)
	}
	if !slices.Equal(c.Entrypoint, []string{"/app/sub/web"}) || !slices.Equal(c.Cmd, []string{"/bin/sh", "-c", "--port 8080"}) {
		t.Errorf("entrypoint %q cmd %q", c.Entrypoint, c.Cmd)
	}
	want := []struct {
		name  string
		files []FileItem
	}{
		{"copy-1", []FileItem{{Src: "bin/web", Dest: "/app/sub/", Owner: "1000:1000"}}},
		{"copy-2", []FileItem{{Src: "with space.txt", Dest: "/etc/with space.txt"}}},
		{"copy-3", []FileItem{{Src: "a", Dest: "/opt/"}, {Src: "b", Dest: "/opt/"}}},
		{"add-4", []FileItem{{Src: "conf.d", Dest: "/etc/conf.d"}}},
	}
	if len(img.Layers) != len(want) {
		t.Fatalf("layers: %+v", img.Layers)
	}
	for i, w := range want {
		l := img.Layers[i]
		if l.Name != w.name || len(l.Files) != len(w.files) {
			t.Errorf("layer %d: %+v", i, l)
			continue
		}
		for j, f := range l.Files {
			got := f
			got.Mode = nil
			if got != w.files[j] {
				t.Errorf("layer %s file %d = %+v, want %+v", l.Name, j, got, w.files[j])
			}
		}
	}
	if m := img.Layers[0].Files[0].Mode; m == nil || *m != 0o755 {
		t.Errorf("--chmod: %v", m)
	}
	if img.Layers[0].Pos.Line != 16 {
		t.Errorf("layer pos: %v", img.Layers[0].Pos)
	}
	if !c.Has(FieldEntrypoint) || !c.Has(FieldCmd) || c.Has(FieldAnnotations) {
		t.Errorf("set bits: %b", c.Set)
	}
}

func TestDockerfileDetails(t *testing.T) {
	tests := []struct {
		name  string
		df    string
		args  map[string]string
		check func(t *testing.T, img *Image)
	}{
		{"scratch and exec forms", "FROM scratch\nCMD [\"a\", \"b c\"]\nENTRYPOINT []\n", nil, func(t *testing.T, img *Image) {
			if img.FromKind != FromScratch || !slices.Equal(img.Config.Cmd, []string{"a", "b c"}) || img.Config.Entrypoint == nil || len(img.Config.Entrypoint) != 0 {
				t.Errorf("%+v", img)
			}
		}},
		{"invalid JSON falls back to shell form", "FROM scratch\nCMD [not json\n", nil, func(t *testing.T, img *Image) {
			if !slices.Equal(img.Config.Cmd, []string{"/bin/sh", "-c", "[not json"}) {
				t.Errorf("%q", img.Config.Cmd)
			}
		}},
		{"SHELL changes shell form", "FROM scratch\nSHELL [\"/bin/bash\", \"-ec\"]\nENTRYPOINT run it\n", nil, func(t *testing.T, img *Image) {
			if !slices.Equal(img.Config.Entrypoint, []string{"/bin/bash", "-ec", "run it"}) {
				t.Errorf("%q", img.Config.Entrypoint)
			}
		}},
		{"escape directive", "# escape=`\nFROM scratch\nENV A=1 `\n    B=2\nCOPY a\\b /x\n", nil, func(t *testing.T, img *Image) {
			if img.Config.Env["B"] != "2" || img.Layers[0].Files[0].Src != `a\b` {
				t.Errorf("%+v %+v", img.Config.Env, img.Layers)
			}
		}},
		{"case insensitive and CRLF", "from scratch\r\nenv A=1\r\ncopy x /x\r\n", nil, func(t *testing.T, img *Image) {
			if img.Config.Env["A"] != "1" || len(img.Layers) != 1 {
				t.Errorf("%+v", img)
			}
		}},
		{"args: build arg, default, global, env wins", `ARG G=global
FROM scratch
ARG G
ARG D=dflt
ARG U
ARG O=old
ENV D=fromenv
LABEL g=$G d=$D u=[$U] o=${O} m=${MISSING:-def} p=${D:+set}
`, map[string]string{"O": "new"}, func(t *testing.T, img *Image) {
			want := map[string]string{"g": "global", "d": "fromenv", "u": "[]", "o": "new", "m": "def", "p": "set"}
			if !reflect.DeepEqual(img.Config.Labels, want) {
				t.Errorf("labels %q, want %q", img.Config.Labels, want)
			}
		}},
		{"global arg not visible without redeclaring", "ARG G=x\nFROM scratch\nLABEL g=[$G]\n", nil, func(t *testing.T, img *Image) {
			if img.Config.Labels["g"] != "[]" {
				t.Errorf("%q", img.Config.Labels)
			}
		}},
		{"escapes and quotes", `FROM scratch
ENV A="a \"q\" \$HOME" B='single $A' C=\$lit D=x\ y
`, nil, func(t *testing.T, img *Image) {
			want := map[string]string{"A": `a "q" $HOME`, "B": "single $A", "C": "$lit", "D": "x y"}
			if !reflect.DeepEqual(img.Config.Env, want) {
				t.Errorf("env %q, want %q", img.Config.Env, want)
			}
		}},
		{"relative dest and workdir", "FROM scratch\nWORKDIR /w\nCOPY a .\nCOPY b sub/\nCOPY c file\nCOPY /d /abs\n", nil, func(t *testing.T, img *Image) {
			got := []string{img.Layers[0].Files[0].Dest, img.Layers[1].Files[0].Dest, img.Layers[2].Files[0].Dest, img.Layers[3].Files[0].Src}
			if !slices.Equal(got, []string{"/w/", "/w/sub/", "/w/file", "d"}) {
				t.Errorf("%q", got)
			}
		}},
		{"healthcheck NONE and exec", "FROM scratch\nHEALTHCHECK NONE\n", nil, func(t *testing.T, img *Image) {
			if !slices.Equal(img.Config.Healthcheck.Test, []string{"NONE"}) {
				t.Errorf("%+v", img.Config.Healthcheck)
			}
		}},
		{"healthcheck exec form", "FROM scratch\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n", nil, func(t *testing.T, img *Image) {
			if !slices.Equal(img.Config.Healthcheck.Test, []string{"CMD", "/bin/check", "-q"}) {
				t.Errorf("%+v", img.Config.Healthcheck)
			}
		}},
		{"maintainer becomes a label", "FROM scratch\nMAINTAINER Jane <j@example.com>\n", nil, func(t *testing.T, img *Image) {
			if img.Config.Labels["maintainer"] != "Jane <j@example.com>" {
				t.Errorf("%q", img.Config.Labels)
			}
		}},
		{"platform arg unset means host", "FROM --platform=$BUILDPLATFORM scratch\n", nil, func(t *testing.T, img *Image) {
			if img.Platform != "" {
				t.Errorf("%q", img.Platform)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := ParseDockerfile(writeDockerfile(t, tt.df), tt.args)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, img)
		})
	}
}

func TestDockerfileErrors(t *testing.T) {
	tests := []struct {
		name, df string
		want     []string
	}{
		{"RUN", "FROM debian\n\nRUN apt-get install -y curl\n",
			[]string{"Dockerfile:3: RUN is not supported: berth builds without running commands; install packages with a `debs` layer, create users with `users`, directories and symlinks with `paths`"}},
		{"every RUN reported", "FROM debian\nRUN a\nRUN \\\n  b\nRUN c\n",
			[]string{"3 problems", "Dockerfile:2: RUN", "Dockerfile:3: RUN", "Dockerfile:5: RUN"}},
		{"multi-stage", "FROM golang AS build\nCOPY . .\nFROM scratch\n",
			[]string{"Dockerfile:3: multi-stage builds are not supported; "}},
		{"COPY --from", "FROM scratch\nCOPY --from=build /x /x\n",
			[]string{"Dockerfile:2: COPY --from is not supported"}},
		{"ADD URL", "FROM scratch\nADD https://example.com/x.bin /x\n",
			[]string{"Dockerfile:2: ADD https://example.com/x.bin: remote sources are not supported"}},
		{"ADD git", "FROM scratch\nADD git@github.com:a/b.git /src\n",
			[]string{"Dockerfile:2: ADD git@github.com:a/b.git: remote sources"}},
		{"ADD tar by name", "FROM scratch\nADD rootfs.tar.gz /\n",
			[]string{"Dockerfile:2: ADD rootfs.tar.gz: ADD would extract this archive", "tar: {src: rootfs.tar.gz}"}},
		{"ADD --checksum", "FROM scratch\nADD --checksum=sha256:abc x /x\n",
			[]string{"Dockerfile:2: ADD: unsupported flag --checksum"}},
		{"chown by name", "FROM scratch\nCOPY --chown=app:app x /x\n",
			[]string{"Dockerfile:2: COPY --chown=app:app: only numeric uid[:gid]"}},
		{"chmod symbolic", "FROM scratch\nCOPY --chmod=u+x x /x\n",
			[]string{"Dockerfile:2: COPY --chmod=u+x: only octal modes"}},
		{"heredoc", "FROM scratch\nCOPY <<EOF /x\nhello\nEOF\n",
			[]string{"Dockerfile:2: COPY with a here-document is not supported"}},
		{"multiple sources need dir dest", "FROM scratch\nCOPY a b /x\n",
			[]string{"Dockerfile:2: COPY with more than one source needs a directory destination"}},
		{"source outside context", "FROM scratch\nCOPY ../x /x\n",
			[]string{"Dockerfile:2: COPY source \"../x\" is outside the build context"}},
		{"COPY one arg", "FROM scratch\nCOPY x\n",
			[]string{"Dockerfile:2: COPY needs at least one source and a destination"}},
		{"unknown instruction", "FROM scratch\nCOPPY x /x\n",
			[]string{"Dockerfile:2: unknown instruction \"COPPY\" (did you mean COPY?)"}},
		{"ONBUILD", "FROM scratch\nONBUILD COPY x /x\n",
			[]string{"Dockerfile:2: ONBUILD is not supported"}},
		{"instruction before FROM", "ENV A=1\nFROM scratch\n",
			[]string{"Dockerfile:1: ENV before FROM"}},
		{"no FROM", "# just a comment\n",
			[]string{"Dockerfile: no FROM instruction"}},
		{"bad expose", "FROM scratch\nEXPOSE 99999\n",
			[]string{"Dockerfile:2: EXPOSE: invalid port \"99999\""}},
		{"bad volume", "FROM scratch\nVOLUME data\n",
			[]string{"Dockerfile:2: VOLUME: path \"data\" must be absolute"}},
		{"bad stopsignal", "FROM scratch\nSTOPSIGNAL NOPE\n",
			[]string{"Dockerfile:2: STOPSIGNAL: invalid signal"}},
		{"bad healthcheck flag", "FROM scratch\nHEALTHCHECK --every=1s CMD x\n",
			[]string{"Dockerfile:2: HEALTHCHECK: unknown flag --every"}},
		{"bad healthcheck duration", "FROM scratch\nHEALTHCHECK --interval=soon CMD x\n",
			[]string{"Dockerfile:2: HEALTHCHECK --interval: invalid duration \"soon\""}},
		{"healthcheck none with flags", "FROM scratch\nHEALTHCHECK --retries=1 NONE\n",
			[]string{"Dockerfile:2: HEALTHCHECK NONE takes no flags"}},
		{"unterminated quote", "FROM scratch\nENV A=\"x\n",
			[]string{"Dockerfile:2: unterminated \" quote"}},
		{"required variable", "FROM scratch\nARG V\nENV A=\"${V:?pass --build-arg V}\"\n",
			[]string{"Dockerfile:3: V: pass --build-arg V"}},
		{"bad platform", "FROM --platform=linux/z80 scratch\n",
			[]string{"Dockerfile:1: FROM: unsupported platform \"linux/z80\""}},
		{"bad reference", "FROM Not/Valid:ref:x\n",
			[]string{"Dockerfile:1: FROM: invalid image reference"}},
		{"bad escape directive", "# escape=x\nFROM scratch\n",
			[]string{"Dockerfile:1: invalid escape directive"}},
		{"ENV without value", "FROM scratch\nENV A\n",
			[]string{"Dockerfile:2: ENV A needs a value"}},
		{"relative workdir dotdot", "FROM scratch\nWORKDIR /a/../b\n",
			[]string{"Dockerfile:2: WORKDIR: path \"/a/../b\" must not contain \"..\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDockerfile(writeDockerfile(t, tt.df), nil)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("%T is not Errors: %v", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestDockerfileADDSniffsArchives(t *testing.T) {
	p := writeDockerfile(t, "FROM scratch\nADD payload /\nADD plain.txt /\n")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "x", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("x"))
	tw.Close()
	dir := filepath.Dir(p)
	if err := os.WriteFile(filepath.Join(dir, "payload"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseDockerfile(p, nil)
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:2: ADD payload: ADD would extract this archive") || strings.Contains(err.Error(), "plain.txt") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParseDockerfile(f *testing.F) {
	seeds := []string{
		"FROM scratch\n", "# escape=`\nFROM x\nENV A=1 `\n B=2\n", "ARG X=1\nFROM a:${X}\nCOPY --chmod=0644 [\"a\", \"b/\"]\n",
		"FROM scratch\nHEALTHCHECK --interval=1s CMD [\"x\"]\n", "FROM s\nLABEL \"a b\"='c d' e=${F:-g}\n", "FROM s\nENV A \"x\n",
		"FROM s\nEXPOSE 1-3/udp\nVOLUME [\"/a\"]\nWORKDIR a\nCOPY x y\n", "FROM s\nENV A=${B:+${C:-${D}}}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	p := filepath.Join(f.TempDir(), "Dockerfile")
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := ParseDockerfileBytes(p, data, map[string]string{"B": "1"})
		if err != nil {
			return
		}
		for _, l := range img.Layers {
			for _, fi := range l.Files {
				if checkImagePath(fi.Dest) != nil {
					t.Fatalf("invalid dest accepted: %q", fi.Dest)
				}
				if _, err := cleanSource(fi.Src); err != nil {
					t.Fatalf("invalid src accepted: %q", fi.Src)
				}
			}
		}
	})
}

// TestDockerfileAddDoesNotReadOutside: ADD's archive sniffing opened the
// source before checking it stays in the context, so ../file or a symlink
// to a host file was read (its first bytes decided the error message).
func TestDockerfileAddDoesNotReadOutside(t *testing.T) {
	root := t.TempDir()
	ctxDir := filepath.Join(root, "ctx")
	os.Mkdir(ctxDir, 0o755)
	os.WriteFile(filepath.Join(root, "secret"), []byte{0x1f, 0x8b, 8, 0}, 0o600)
	os.Symlink(filepath.Join(root, "secret"), filepath.Join(ctxDir, "link"))
	df := filepath.Join(ctxDir, "Dockerfile")

	os.WriteFile(df, []byte("FROM scratch\nADD ../secret /x\n"), 0o644)
	_, err := ParseDockerfile(df, nil)
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:2") || !strings.Contains(err.Error(), `ADD source "../secret" is outside the build context`) {
		t.Fatalf("ADD ../secret: err = %v", err)
	}

	os.WriteFile(df, []byte("FROM scratch\nADD link /x\n"), 0o644)
	if _, err := ParseDockerfile(df, nil); err != nil {
		// Resolving the link is the files source's job at build time,
		// which refuses it; the parser must not have opened it.
		t.Fatalf("ADD link: the parser read the symlink's target: %v", err)
	}
}
