package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// runErr runs berth and returns what main would print after "berth: ".
func runErr(t *testing.T, args ...string) string {
	t.Helper()
	_, _, err := runCLI(t, args...)
	if err == nil {
		t.Fatalf("berth %s: no error", strings.Join(args, " "))
	}
	msg, code := describeError(err)
	if code != 1 {
		t.Errorf("berth %s: exit code %d", strings.Join(args, " "), code)
	}
	return msg
}

// The API client's error when the socket is not ours to connect to (the
// tests run as root, which the kernel lets through, so it is built as
// net/http returns it).
func TestErrorSocketPermissionDenied(t *testing.T) {
	sock := "/run/berth/berth.sock"
	err := fmt.Errorf("listing: %w", &url.Error{Op: "Get", URL: "http://berth/containers", Err: &net.OpError{
		Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: sock, Net: "unix"}, Err: os.NewSyscallError("connect", syscall.EACCES)}})
	msg, _ := describeError(err)
	want := "permission denied on the daemon socket " + sock + ": run berth as root, or join the group that owns the socket"
	if !strings.HasPrefix(msg, want) || strings.Contains(msg, "dial unix") {
		t.Fatalf("got %q, want %q...", msg, want)
	}
}

// A registry that is down is one line naming it, not the https and http
// attempts with their URLs.
func TestErrorRegistryDown(t *testing.T) {
	addr := freeAddr(t) // closed again: nothing listens
	ref := addr + "/team/app:1"
	for _, args := range [][]string{{"inspect", ref}, {"diff", ref, ref}} {
		msg := runErr(t, args...)
		if want := ref + ": cannot reach registry " + addr + ": connection refused"; msg != want {
			t.Errorf("berth %s:\n got %q\nwant %q", args[0], msg, want)
		}
	}
	msg, _ := describeError(&url.Error{Op: "Get", URL: "https://nosuch.invalid/v2/", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true}}})
	if msg != "cannot reach registry nosuch.invalid: no such host" {
		t.Errorf("DNS: %q", msg)
	}
}

// A missing tag says "no such image" with the registry's code, without the
// Go map of its error detail.
func TestErrorMissingTag(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	host := promoteRegistry(t)
	dir := t.TempDir()
	yaml := filepath.Join(dir, "berth.yaml")
	os.WriteFile(yaml, []byte("images:\n  app:\n    layers:\n      - name: etc\n        paths: [{path: /etc/app, type: directory}]\n"), 0o644)
	if _, stderr, err := runCLI(t, "build", "-q", "-f", yaml, "--push", host+"/team/app:1"); err != nil {
		t.Fatalf("push: %v\n%s", err, stderr)
	}
	for ref, code := range map[string]string{host + "/team/app:2": "MANIFEST_UNKNOWN", host + "/team/none:1": "UNKNOWN"} {
		msg := runErr(t, "inspect", ref)
		if !strings.HasPrefix(msg, ref+": no such image (registry "+host+" answered ") || !strings.Contains(msg, code) || strings.Contains(msg, "map[") {
			t.Errorf("inspect %s: %q", ref, msg)
		}
	}
}

// A missing file reads the same in every command: "PATH: no such file or
// directory" (not "open PATH: ...", "stat PATH: ...", "no such file").
func TestErrorMissingFileSameEverywhere(t *testing.T) {
	t.Setenv("BERTH_CACHE", t.TempDir())
	nope := filepath.Join(t.TempDir(), "nope")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "-f", nope + "/berth.yaml"}, nope + "/berth.yaml: no such file or directory"},
		{[]string{"build", "--dockerfile", nope + "/Dockerfile"}, nope + "/Dockerfile: no such file or directory"},
		{[]string{"lock", "-f", nope + "/berth.yaml"}, nope + "/berth.yaml: no such file or directory"},
		{[]string{"config", "-f", nope + "/compose.yaml"}, nope + "/compose.yaml: no such file or directory"},
		{[]string{"up", "-f", nope + "/compose.yaml"}, nope + "/compose.yaml: no such file or directory"},
		{[]string{"deploy", "-f", nope + "/compose.yaml"}, nope + "/compose.yaml: no such file or directory"},
		{[]string{"promote", "app", "--from", "a", "--to", "b", "-f", nope + "/berth.yaml"}, nope + "/berth.yaml: no such file or directory"},
		{[]string{"registry", "gc", "--config", nope + "/registry.yaml"}, "registry config: " + nope + "/registry.yaml: no such file or directory"},
		{[]string{"inspect", nope + "/app.tar"}, "docker-archive:" + nope + "/app.tar: no such file or directory"},
		{[]string{"inspect", "docker-archive:" + nope + ".tar"}, "docker-archive:" + nope + ".tar: no such file or directory"},
		{[]string{"inspect", "oci-layout:" + nope}, "oci-layout:" + nope + ": no such file or directory"},
		{[]string{"inspect", nope}, nope + ": no such file or directory"},
	} {
		if msg := runErr(t, tc.args...); msg != tc.want {
			t.Errorf("berth %s:\n got %q\nwant %q", strings.Join(tc.args, " "), msg, tc.want)
		}
	}
}

func TestExitStatusIsSilent(t *testing.T) {
	msg, code := describeError(fmt.Errorf("diff: %w", exitStatus(1)))
	if msg != "" || code != 1 {
		t.Fatalf("%q %d", msg, code)
	}
	if _, code := describeError(errors.New("x")); code != 1 {
		t.Fatal(code)
	}
}
