package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAcceptanceSecretsConfigsTmpfsForNonRootService: a service running as
// 1000:1000 reads the secrets given to it with uid/gid/mode (in
// /run/secrets and at an absolute target) but not one left root's 0400;
// its configs sit at their targets with the mode and owner asked; its
// tmpfs mounts have the mode asked and the size limit holds (writing past
// it fails with ENOSPC). The secrets' values are in no log or state file.
func TestAcceptanceSecretsConfigsTmpfsForNonRootService(t *testing.T) {
	s := newStackEnv(t, "acc-files")
	bb := buildBusybox(t, s.env, filepath.Join(s.work, "images"))
	const token, pem = "t0ken-value-for-1000", "pem-value-for-group-1000"
	s.write("token.txt", token)
	s.write("key.pem", pem)
	s.write("root.txt", "root-only-value")
	s.write("site.conf", "listen 8080;\n")
	// Reports what the service sees, never a secret's value: sizes, owners,
	// modes, whether a read worked.
	report := strings.Join([]string{
		`echo "id $$(id -u):$$(id -g)"`,
		`for f in /run/secrets/token /etc/app/key.pem /run/secrets/rootonly /etc/app.conf /site; do if cat $$f >/dev/null 2>&1; then r=readable; else r=denied; fi; echo "file $$f $$(stat -c '%u:%g %a' $$f) $$(wc -c < $$f 2>/dev/null || echo -) $$r"; done`,
		`echo "conf $$(cat /etc/app.conf)"`,
		`echo "tmpfs /scratch $$(stat -c %a /scratch) /short $$(stat -c %a /short)"`,
		`dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/tmp/dd.err; echo "dd exit $$? $$(grep -o 'No space left on device' /tmp/dd.err) wrote $$(stat -c %s /scratch/big)"`,
		`echo done`,
		idle,
	}, "; ")
	s.up(fmt.Sprintf(`services:
  app:
    image: oci-layout:%[1]s:bb
    user: "1000:1000"
    entrypoint: [/bin/sh, -c, %[2]q]
    secrets:
      - source: token
        uid: "1000"
        gid: "1000"
        mode: 0400
      - source: pem
        target: /etc/app/key.pem
        gid: "1000"
        mode: 0440
      - rootonly
    configs:
      - source: conf
        target: /etc/app.conf
        uid: "1000"
        mode: 0440
      - site
    volumes:
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 1m, mode: 0o777}
    tmpfs: ["/short:size=64k,mode=1770"]
secrets:
  token: {file: ./token.txt}
  pem: {file: ./key.pem}
  rootonly: {file: ./root.txt}
configs:
  conf: {content: "level=debug"}
  site: {file: ./site.conf}
`, bb, report))

	var logs string
	eventually(t, "the service's report", 20*time.Second, func() (bool, string) {
		logs = s.logs("app")
		return strings.Contains(logs, "done"), logs
	})
	for _, want := range []string{
		"id 1000:1000",
		fmt.Sprintf("file /run/secrets/token 1000:1000 400 %d readable", len(token)),
		fmt.Sprintf("file /etc/app/key.pem 0:1000 440 %d readable", len(pem)),
		"file /run/secrets/rootonly 0:0 400 - denied",
		"file /etc/app.conf 1000:0 440 11 readable",
		"file /site 0:0 444 13 readable",
		"conf level=debug",
		"tmpfs /scratch 777 /short 1770",
		"No space left on device wrote 1048576",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the service's report lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "dd exit 0") {
		t.Errorf("writing 2 MiB to a 1 MiB tmpfs succeeded:\n%s", logs)
	}
	// The values are in no log and in nothing the engine keeps on disk
	// outside the secrets' tmpfs.
	all := s.berth("logs", "-p", s.project)
	filepath.WalkDir(filepath.Join(s.root, "containers"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == "rootfs" || d.Name() == "secrets") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			raw, _ := os.ReadFile(p)
			all += string(raw)
		}
		return nil
	})
	for _, v := range []string{token, pem, "root-only-value"} {
		if strings.Contains(all, v) {
			t.Errorf("the secret value %q is in a log or state file", v)
		}
	}
}
